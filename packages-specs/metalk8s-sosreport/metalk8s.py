# coding: utf-8
"""sos plugin collecting MetalK8s cluster state (sos 3.x, Python 2 on EL7)."""
from sos.plugins import Plugin, RedHatPlugin


class MetalK8s(Plugin, RedHatPlugin):
    """MetalK8s Kubernetes cluster: nodes, pods, events and Salt state"""

    plugin_name = 'metalk8s'
    profiles = ('container',)
    files = ('/etc/kubernetes/admin.conf',)

    kubeconfig = '/etc/kubernetes/admin.conf'
    resources = ('nodes', 'pods', 'services', 'deployments', 'daemonsets',
                 'statefulsets', 'events', 'persistentvolumes',
                 'persistentvolumeclaims')

    def setup(self):
        kubectl = 'kubectl --kubeconfig={0}'.format(self.kubeconfig)
        self.add_cmd_output('{0} version'.format(kubectl))
        self.add_cmd_output('{0} get --raw=/healthz'.format(kubectl))
        for resource in self.resources:
            self.add_cmd_output(
                '{0} get {1} --all-namespaces -o wide'.format(kubectl, resource))
        self.add_copy_spec([
            '/etc/metalk8s',
            '/etc/kubernetes/manifests',
            '/var/log/metalk8s',
            '/etc/salt/minion.d',
        ])
        self.add_forbidden_path('/etc/kubernetes/pki')
        self.add_forbidden_path('/etc/metalk8s/pki')

# vim: set et ts=4 sw=4 :
