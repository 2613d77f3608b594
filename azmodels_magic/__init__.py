"""azmodels: manage Azure AI Foundry models end to end from Jupyter."""
