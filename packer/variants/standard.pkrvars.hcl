# The general-purpose node: runc, no accelerator drivers.
variant = "standard"
