# FedRAMP-oriented: FIPS 140-3 mode (the fips variant's 70-fips) and the STIG
# profile of 71-cis-hardening (packer/README.md, "Hardening").
variant   = "fips"
hardening = "stig"
