"""Bare-metal hardware: drivers (hardware types, ``drivers``) made of
interfaces, and their clean steps. The conductor runs these itself (no
compute involved); the API only reads what conductors recorded of them."""
