"""A mixed-load soak of a real multi-worker server: ``scripts/soak`` runs it, ``test_soak.py`` runs a short one."""
