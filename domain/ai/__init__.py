"""AI generation for the pipeline and the studio, one module a job:

- service: the AIService (entitlement, provider chain, result cache, quota, the generation log);
- chains: the process's provider chains and their circuit-breaker health;
- generations: reading the generation log;
- studio: standalone generations (script, image, narration);
- voices: which voices a user's narrations can use;
- own_keys: users' own provider keys (BYOK) and the check of their endpoints;
- cloning: voice cloning;
- cache, quota, plans: the result cache, per-user quotas and the plans they come from.

Which provider class serves which kind is a table in providers/ai/registry.py.
"""
