#!/usr/bin/python3
"""reach.py USER SPEC...: can USER reach what a server dropping root to it
will open? Each SPEC is r:FILE (read it), x:DIR (search it) or w:DIR
(create files in it); every directory on the way must be searchable
(path_resolution(7)). Run as root: it forks, becomes USER (its groups
included) and tries, so ACLs and mount options count as they will for the
server.

Exit 0 when USER can do all of them. Otherwise one line per SPEC it cannot
do, naming the directory or file that stops it with its mode and owner, e.g.
  user nobody cannot read /tmp/x/rk.conf: no search permission on / (drwx------ root:root)
and exit 1. Exit 2 on a usage error (unknown user, not root).
"""
import grp
import json
import os
import pwd
import stat
import sys


def describe(path):
    """'drwx------ root:root' for PATH (as root), or why it cannot be seen."""
    try:
        st = os.stat(path)
    except OSError as e:
        return e.strerror
    try:
        owner = pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        owner = str(st.st_uid)
    try:
        group = grp.getgrgid(st.st_gid).gr_name
    except KeyError:
        group = str(st.st_gid)
    return "%s %s:%s" % (stat.filemode(st.st_mode), owner, group)


def try_spec(spec):
    """As USER: None when SPEC can be done, else (the path that stops it,
    what stops it, whether its mode and owner tell why)."""
    kind, _, path = spec.partition(":")
    path = os.path.abspath(path)
    # Walk down from /: the first component that cannot be looked up
    # names its parent as the directory without search permission.
    parts = [p for p in path.split("/") if p]
    cur = "/"
    for name in parts:
        nxt = os.path.join(cur, name)
        try:
            os.stat(nxt)
        except PermissionError:
            return (cur, "no search permission on", True)
        except FileNotFoundError:
            return (nxt, "no such file or directory", False)
        cur = nxt
    mode = {"r": os.R_OK, "x": os.X_OK, "w": os.W_OK | os.X_OK}.get(kind)
    if mode is None:
        return (path, "unknown kind '%s' for" % kind, False)
    if kind == "r" and not os.path.isdir(path):
        try:
            with open(path, "rb"):
                return None
        except OSError as e:
            return (path, "%s:" % e.strerror, True)
    if kind == "r":
        try:
            os.listdir(path)
            return None
        except OSError as e:
            return (path, "%s:" % e.strerror, True)
    if os.access(path, mode):
        return None
    return (path, "no %s permission on" % ("search" if kind == "x" else "write"), True)


def main():
    if len(sys.argv) < 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    if os.geteuid() != 0:
        print("reach.py: must run as root", file=sys.stderr)
        return 2
    user = sys.argv[1]
    specs = sys.argv[2:]
    try:
        pw = pwd.getpwnam(user)
    except KeyError:
        print("reach.py: no user %s" % user, file=sys.stderr)
        return 2
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(rfd)
        code = 0
        try:
            os.initgroups(user, pw.pw_gid)
            os.setgid(pw.pw_gid)
            os.setuid(pw.pw_uid)
            results = [try_spec(s) for s in specs]
            os.write(wfd, json.dumps(results).encode())
        except BaseException as e:  # report anything, never return to the parent's code
            os.write(wfd, json.dumps(str(e)).encode())
            code = 3
        os._exit(code)
    os.close(wfd)
    data = b""
    while True:
        chunk = os.read(rfd, 65536)
        if not chunk:
            break
        data += chunk
    os.waitpid(pid, 0)
    results = json.loads(data or b'"no answer from the child"')
    if isinstance(results, str):
        print("reach.py: %s" % results, file=sys.stderr)
        return 2
    verbs = {"r": "read", "x": "search", "w": "create files in"}
    bad = 0
    for spec, res in zip(specs, results):
        if res is None:
            continue
        bad += 1
        kind, _, path = spec.partition(":")
        where, what, show_mode = res
        line = "user %s cannot %s %s: %s %s" % (user, verbs.get(kind, kind),
                                                os.path.abspath(path), what, where)
        print(line + (" (%s)" % describe(where) if show_mode else ""))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
