# coding: utf-8
"""sos plugin collecting containerd state through crictl (sos 3.x, Python 2 on EL7)."""
from sos.plugins import Plugin, RedHatPlugin


class Containerd(Plugin, RedHatPlugin):
    """containerd container runtime (CRI) state"""

    plugin_name = 'containerd'
    profiles = ('container',)
    packages = ('containerd',)
    services = ('containerd',)

    def setup(self):
        self.add_copy_spec(['/etc/containerd', '/etc/crictl.yaml'])
        for sub in ('info', 'version', 'images', 'pods', 'ps -a', 'stats'):
            self.add_cmd_output('crictl {0}'.format(sub))
        self.add_journal(units='containerd')

# vim: set et ts=4 sw=4 :
