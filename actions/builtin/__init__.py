"""The built-in actions: order lookup (which verifies the shopper), return eligibility, return
authorizations, return labels, return status, tracking, and lead capture (with consent). `load_registry()`
registers every module listed in `actions.registry.BUILTIN_MODULES`."""
