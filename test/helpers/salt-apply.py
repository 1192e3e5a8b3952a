#!/usr/bin/env python3
"""Applies the `file.managed` states of one .sls of the Salt stand-in, as salt-call would, on a
machine without Salt (tests only).

What Salt does that matters here is reproduced: the .sls is rendered with Jinja (Salt's `do`
extension, the `salt`, `pillar`, `grains` and `saltenv` globals, `raise`, and the `load_json`,
`load_yaml` filters), read as YAML, and each `file.managed` is applied: its source
(`salt://...` in the Salt tree, or an absolute path on the node) copied or rendered with Jinja
(`context` over `defaults`, plus the globals), written to its `name` rebased under HOST_ROOT.
Other state functions are listed in the summary but not applied; `include` is ignored.

usage: salt-apply.py SALT_ROOT SLS SALTENV PILLAR_JSON HOST_ROOT
Prints a JSON summary ({"applied": [names], "skipped": [ids]}); a rendering error (a `raise`
of the templates, an undefined value) exits 1 with the message on stderr.
"""
import json
import os
import subprocess
import sys

import jinja2
import yaml


class Refused(Exception):
    pass


def salt_raise(message):
    raise Refused(message)


def pillar_get(pillar, key, default=None):
    value = pillar
    for part in key.split(':'):
        if not isinstance(value, dict) or part not in value:
            return default
        value = value[part]
    return value


def read(path):
    with open(path, encoding='utf-8') as f:
        return f.read()


def main():
    salt_root, sls, saltenv, pillar_json, host_root = sys.argv[1:6]
    pillar = json.loads(pillar_json)
    grains = {'fqdn_ip4': ['127.0.0.1']}
    salt = {
        'pillar.get': lambda key, default=None: pillar_get(pillar, key, default),
        'file.read': read,
        'file.file_exists': os.path.isfile,
        'file.directory_exists': os.path.isdir,
        'file.join': os.path.join,
        'cmd.run': lambda cmd, python_shell=False: subprocess.run(
            cmd, check=False, capture_output=True, text=True
        ).stdout,
    }
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(salt_root),
        extensions=['jinja2.ext.do'],
        undefined=jinja2.StrictUndefined,
    )
    env.filters['load_json'] = json.loads
    env.filters['load_yaml'] = yaml.safe_load
    env.globals.update(
        {'salt': salt, 'pillar': pillar, 'grains': grains, 'saltenv': saltenv, 'raise': salt_raise}
    )

    def render(template, context):
        return template.render(**context)

    states = yaml.safe_load(render(env.get_template(sls), {})) or {}
    applied, skipped = [], []
    for state_id, body in states.items():
        if state_id == 'include' or 'file.managed' not in body:
            skipped.append(state_id)
            continue
        args = {}
        for item in body['file.managed']:
            args.update(item)
        source = str(args['source'])
        if source.startswith('salt://'):
            relative = source[len('salt://'):].split('?', 1)[0]
            load = lambda: env.get_template(relative)
            text_of = lambda: read(os.path.join(salt_root, relative))
        else:
            load = lambda: env.from_string(read(source))
            text_of = lambda: read(source)
        if args.get('template') == 'jinja':
            context = dict(args.get('defaults') or {})
            context.update(args.get('context') or {})
            text = render(load(), context)
        else:
            text = text_of()
        dest = os.path.join(host_root, str(args['name']).lstrip('/'))
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with open(dest, 'w', encoding='utf-8') as f:
            f.write(text)
        applied.append(str(args['name']))
    print(json.dumps({'applied': applied, 'skipped': skipped}))


if __name__ == '__main__':
    try:
        main()
    except (Refused, jinja2.TemplateError, OSError, yaml.YAMLError) as err:
        print(f'error: {err}', file=sys.stderr)
        sys.exit(1)
