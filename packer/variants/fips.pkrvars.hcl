# FIPS 140-3 mode: kernel and crypto policy (Amazon Linux 2023's fips-mode-setup).
variant = "fips"
