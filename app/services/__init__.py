"""Business logic. No HTTP here: services take a session first and keyword-only arguments,
return models, and raise the domain errors of app.errors. One public call, one commit."""
