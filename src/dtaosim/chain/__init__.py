"""The chain's protocol, one module per mechanism (see ``docs/mechanics.md``)."""
