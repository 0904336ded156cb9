"""machimori: shared contracts, the command line and the demo orchestration."""
