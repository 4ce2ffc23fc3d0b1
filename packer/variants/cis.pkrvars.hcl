# CIS-oriented hardening; packer/README.md lists which benchmark items it
# covers and which a Kubernetes node cannot follow.
variant     = "cis"
volume_size = 30
