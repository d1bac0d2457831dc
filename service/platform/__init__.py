"""Platform: database, migrations, HTTP middleware, auth, audit, logging — what every
area builds on. Imports nothing from the areas."""
