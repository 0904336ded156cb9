"""Host-side tools for the edge firmware: the generated BTHome table, bundles, flashing."""
