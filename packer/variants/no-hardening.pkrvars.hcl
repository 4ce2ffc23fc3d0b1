# The standard node without the default CIS Level 1 hardening (opt-out).
variant   = "standard"
hardening = "none"
