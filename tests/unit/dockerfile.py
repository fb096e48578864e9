"""Just enough of a Dockerfile parser for the unit tests: instructions, stages, ENV."""

import shlex


def instructions(text):
    """[(INSTRUCTION, arguments)] with continuation lines joined and comments dropped."""
    out = []
    buf = ""
    for line in text.splitlines():
        s = line.strip()
        if not s or s.startswith("#"):
            continue  # blank and comment lines, also inside a continuation
        if s.endswith("\\"):
            buf += s[:-1].strip() + " "
            continue
        buf += s
        word, _, rest = buf.partition(" ")
        out.append((word.upper(), rest.strip()))
        buf = ""
    assert not buf, "the Dockerfile ends inside a continuation: %r" % buf
    return out


def stages(text):
    """[[(INSTRUCTION, arguments)]], one list per FROM, each starting with its FROM."""
    out = []
    for ins in instructions(text):
        if ins[0] == "FROM":
            out.append([])
        assert out, "an instruction before the first FROM: %r" % (ins,)
        out[-1].append(ins)
    return out


def env(stage):
    """The variables a stage's ENV instructions set (KEY=VALUE form)."""
    out = {}
    for word, rest in stage:
        if word == "ENV":
            for token in shlex.split(rest):
                key, sep, value = token.partition("=")
                assert sep, "ENV in KEY VALUE form: %r" % rest
                out[key] = value
    return out


def copy_sources(stage):
    """The context paths of the stage's COPY instructions (not COPY --from)."""
    out = []
    for word, rest in stage:
        if word == "COPY":
            words = shlex.split(rest)
            if any(w.startswith("--from=") for w in words):
                continue
            out += [w for w in words if not w.startswith("--")][:-1]
    return out
