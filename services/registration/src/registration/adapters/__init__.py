"""MongoDB storage (and other outside systems) behind small interfaces."""
