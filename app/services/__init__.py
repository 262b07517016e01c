"""Business logic. No HTTP here: services take a session first and keyword-only arguments,
return models, and raise the domain errors of app.errors. One public call, one commit."""

# Listeners of the history's event hook register when they are imported; importing any
# service brings them in, so no write path can record an event that tells nobody.
from app.services import outbox as outbox
