# STIG profile: the CIS Level 1 items plus the STIG items of 71-cis-hardening
# (packer/README.md, "Hardening"). For FIPS 140-3 as well: variants/fedramp.
variant   = "standard"
hardening = "stig"
