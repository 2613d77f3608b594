"""What the services return to the front ends: lists, details and reports, one module per
family of commands. Data and the text that describes it (summaries, next steps), nothing that
talks to Azure: presentation imports them freely, and they import only the core.

`records` holds what the clients build from REST (models, deployments, quota, accounts).
"""
