"""The embedded sandbox: Azure ARM and Foundry routes on loopback, SQLite state, Azurite weights."""
