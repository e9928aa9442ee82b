#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: hostnet_facts
short_description: Gather the host networking facts that decide whether Kubernetes will work
version_added: 0.1.0
author: kubeprep.hostnet contributors (@kubeprep)
description:
  - Reads, in one call and without changing anything, everything the C(kubeprep.hostnet) rules judge -
    C(/etc/hosts), what the resolver really returns for C(localhost), the loopback interface and its
    IPv6 sysctls, IPv4 and IPv6 routes and the kernel's route lookup for Service IPs, C(/etc/nsswitch.conf),
    the C libc and its version, C(/etc/resolv.conf) and the worst-case lookup time it implies,
    interfaces and addresses, node identity (hostname, machine-id, product_uuid, MACs), cloud-init's
    C(manage_etc_hosts) and the network managers present.
  - Publishes them as C(ansible_facts['hostnet']).
  - Uses only the Python standard library on the managed host, and the C(ip) command when present.
  - Anything that cannot be read (missing file, no permission, no C(ip) binary) is reported in the
    facts (C(status) fields and C(problems)), never as a failure of the module.
  - The C(localhost) lookup runs in a background thread bounded by O(resolver_timeout), because on the hosts
    this collection exists for one lookup can take 30 seconds; a timeout is reported as evidence.
extends_documentation_fragment:
  - kubeprep.hostnet.attributes.FACTS
options:
  root:
    description:
      - Read the file-based facts from this directory instead of C(/), for example an unpacked container
        image or a chroot.
      - When it is not the running system's root, kernel facts (sysctls, interfaces, routes, the resolver
        probe) are reported with C(status=not_applicable).
    type: path
    default: /
  service_ips:
    description:
      - Addresses (or CIDRs, whose first host address is used) to ask the kernel a route for, as a
        client connecting to the Kubernetes Service network would.
      - The default is the first Service IP of kubeadm's default Service CIDR C(10.96.0.0/12);
        kubespray's default C(kube_service_addresses) is C(10.233.0.0/18).
    type: list
    elements: str
    default: ['10.96.0.1']
  resolver_timeout:
    description:
      - Seconds to wait for C(getaddrinfo("localhost")) before reporting it as timed out.
    type: float
    default: 2.0
  datastore_endpoints:
    description:
      - Opt-in (fault F5). etcd or API server endpoints to measure round trips to, each a URL
        (C(https://10.0.0.1:2379)) or a dict with C(url) and optional C(ca), C(cert), C(key), C(insecure).
      - A URL without a path is probed at C(/health) (etcd); give C(/healthz) for an API server.
      - For each, O(rtt_samples) fresh TCP connects and O(rtt_samples) requests on one kept-alive connection
        (the first request, which also pays connect and TLS, is not counted), with median and worst.
    type: list
    elements: raw
    default: []
  rtt_samples:
    description: Samples per endpoint and measurement.
    type: int
    default: 5
  rtt_timeout:
    description: Seconds before one connect or request is given up.
    type: float
    default: 2.0
  rtt_budget:
    description: Seconds all endpoint measurements may take together; what is left is reported as truncated.
    type: float
    default: 20.0
  go_binaries:
    description:
      - Look for Go programs (Kubernetes components, etcd, calico, CNI plugins) under O(root) and read the Go
        version each was built with. With no C(hosts:) line in C(/etc/nsswitch.conf), Go before 1.16 asks DNS
        before C(/etc/hosts).
      - V(auto) looks only when C(nsswitch.conf) is missing or has no C(hosts:) line, the only case where the
        version matters. Each file is mapped, not read; the version is found through the ELF section table.
    type: str
    choices: [auto, always, never]
    default: auto
  go_binary_paths:
    description:
      - Glob patterns, relative to O(root), of the files to inspect. Non-executables and non-Go files are skipped.
      - The default covers C(usr/bin/kube*), C(usr/local/bin/*), C(usr/bin/etcd*), C(usr/bin/calico*),
        C(opt/cni/bin/*), C(containerd), C(crictl), C(flanneld) and the files at the top of O(root).
    type: list
    elements: str
  kubelet_resolv_conf:
    description:
      - The resolv.conf kubelet hands to pods and CoreDNS, as an installer or the user knows it (kubeadm's
        C(KubeletConfiguration.resolvConf), kubespray's C(kube_resolv_conf), k3s and rke2's C(resolv-conf)). The module
        reads that file instead of finding kubelet's own setting (fact C(kubelet_resolv_conf)).
      - Empty or omitted, the module finds it - C(--resolv-conf) in the kubelet unit, its drop-ins and environment files,
        else C(resolvConf) in kubelet's config file, else C(/run/systemd/resolve/resolv.conf) where kubeadm would choose it
        because systemd-resolved runs, else C(/etc/resolv.conf).
      - An absolute path; anything else fails the module.
    type: str
  port_probe_listen:
    description:
      - "After gathering, start the short-lived listener of the port probes (M(kubeprep.hostnet.hostnet_port_probe),
        rule C(node-port-unreachable)) on the free ports this host must accept, in the same call. A dict with C(cni)
        (which CNI's ports, as C(hostnet_cni)) and C(etcd_group) (as C(hostnet_etcd_group)): the action plugin turns
        them into the port list and the listener's lifetime. Omitted, nothing listens."
      - The listener's report is the fact C(hostnet_probe_listen). Listening is no change to the host's configuration;
        the listener is stopped at the end of the audit and exits by itself at its lifetime.
    type: dict
  port_probe_key:
    description:
      - Set by the action plugin with O(port_probe_listen), never by hand - the listener's secret. The listener answers
        only datagrams whose tag, made with it by the controller for a planned peer's node address, fits the address
        they come from, and ends early only on the signed "done" of every planned source. Kept out of logs.
    type: str
notes:
  - Reading C(/sys/class/dmi/id/product_uuid) needs root; without it the fact is C(null) with
    C(product_uuid_status=unreadable).
seealso:
  - module: kubeprep.hostnet.hostnet_audit
  - name: Rule reference
    description: One page per rule under docs/rules/ in the collection.
    link: https://github.com/kubeprep/hostnet/tree/main/docs/rules
"""

EXAMPLES = r"""
- name: Gather host networking facts
  kubeprep.hostnet.hostnet_facts:

- name: Gather with kubespray's Service CIDR
  kubeprep.hostnet.hostnet_facts:
    service_ips:
      - "{{ kube_service_addresses | default('10.233.0.0/18') }}"

- name: Read an unpacked container image instead of the running system
  kubeprep.hostnet.hostnet_facts:
    root: /srv/images/kube-apiserver-rootfs

- name: Show what localhost resolves to
  ansible.builtin.debug:
    var: ansible_facts['hostnet']['localhost_resolution']
"""

RETURN = r"""
ansible_facts:
  description: Facts published under C(hostnet).
  returned: always
  type: dict
  contains:
    hostnet_probe_listen:
      description:
        - With O(port_probe_listen), the listener's report, read by M(kubeprep.hostnet.hostnet_port_probe) -
          C(listening), C(in_use) (never taken; with the C(holder) socket), C(not_bound) (with the C(error)), C(pid),
          C(start_time), C(echo_port), C(lifetime), C(token), C(facts_epoch).
      returned: when O(port_probe_listen) is set
      type: dict
    hostnet:
      description: Host networking facts. The full schema is in docs/facts.md.
      returned: always
      type: dict
      contains:
        schema_version:
          description: Version of this structure; bumped on incompatible change.
          type: int
          sample: 1
        root:
          description: The root that was read.
          type: str
          sample: /
        live:
          description: Whether kernel facts were read (root is the running system).
          type: bool
        hosts_file:
          description: C(/etc/hosts) with C(status), C(entries) (line, address, family, loopback, names, raw; the first
            1000, C(entries_total) counts them all), C(invalid_lines) and C(names) (name to its distinct addresses in file
            order, at most 64 per name plus, when those are all loopback, the name's first non-loopback address;
            C(names_truncated) gives the full count of a name that had more). Each entry carries at most 1024 characters
            of C(raw), with control characters but tab shown as C(\x0c) (C(raw_chars) gives the line's length) and
            64 C(names) plus any later localhost name or the
            host's own name (C(names_total) gives their count); names longer than 255 characters are left out
            (C(names_too_long) counts them). Parsed in one pass, linear in the file.
          type: dict
          sample: {status: ok, names: {localhost: ["::1"]}, entries: [{line: 1, address: "::1", names: [localhost]}]}
        localhost_resolution:
          description: What C(getaddrinfo("localhost")) returned (C(status) ok, error or timeout), each
            address with whether a connect to it can be routed, and C(duration_ms).
          type: dict
          sample: {status: ok, duration_ms: 0.4, addresses: [{family: 6, address: "::1", usable: false,
                   error: "ENETUNREACH: Network is unreachable"}]}
        sysctl:
          description: Each relevant sysctl as C(status) (ok, absent, unreadable) and C(value) (a string).
          type: dict
          sample: {"net.ipv6.conf.lo.disable_ipv6": {status: ok, value: "1"}}
        interfaces:
          description: C(list) of interfaces (name, mac, mtu, state, up, rp_filter, addresses with family, address,
            prefixlen, cidr).
          type: dict
        routes:
          description: C(ipv4) and C(ipv6) routes of table main, C(default_ipv4) and C(default_ipv6), and C(other_tables_ipv4)
            (IPv4 routes of every other table but local).
          type: dict
        ipv6:
          description: C(status) (C(absent) where IPv6 is disabled in the kernel); C(forwarding) (C(all), C(default)); C(interfaces),
            each interface with an IPv6 default route with its C(accept_ra), C(accept_ra_defrtr), C(forwarding) and C(networkd)
            (whether systemd-networkd configures the link); C(autoconf), each interface without one that holds a global address with a
            lifetime (SLAAC or DHCPv6), with its C(address) and the same settings.
          type: dict
        local_ports:
          description: C(status) (ok, partial, unavailable, not_applicable); C(port_range), C([low, high]) from
            C(/proc/sys/net/ipv4/ip_local_port_range) (the source ports the kernel hands out); C(reserved), the merged
            C([low, high]) ranges of C(/proc/sys/net/ipv4/ip_local_reserved_ports); C(raw), both as the kernel prints them
            (256 characters at most); C(errors), a value that could not be read or parsed (it is then null).
          type: dict
          sample: {status: ok, port_range: [1024, 65535], reserved: [[30000, 32767]], raw: {port_range: "1024\t65535", reserved: 30000-32767}}
        service_route_lookups:
          description: For each Service IP, whether the kernel has a route (C(reachable)), the error a client
            gets (for example C(ENETUNREACH)), and C(dev), C(gateway), C(prefsrc) from C(ip route get).
          type: list
          elements: dict
        nsswitch:
          description: C(/etc/nsswitch.conf) status, C(hosts_sources), C(effective_sources) (the file's, or the
            libc default when the file or line is missing), and C(dns_before_files).
          type: dict
        libc:
          description: C(family) (glibc, musl, unknown), C(version) and where it was read.
          type: dict
          sample: {family: glibc, version: "2.36", source: confstr}
        go_binaries:
          description: C(status) (ok, partial, not_scanned), C(scanned) and C(list) of Go programs with C(path),
            C(go_version), C(files_first_without_nsswitch) (Go 1.16 or later) and C(dynamic) (has an ELF interpreter).
          type: dict
        resolv_conf:
          description: C(nameservers), C(search), C(options), C(timeout), C(attempts), C(ndots), C(rotate),
            C(managed_by) and C(worst_case_lookup_s) per resolver model (glibc, musl, go).
          type: dict
        kubelet_resolv_conf:
          description: The resolv.conf kubelet hands to pods and CoreDNS - C(path), C(source) (option, flag, k3s-config, rke2-config,
            config, kubelet-default, kubeadm-systemd-resolved, default), C(origin) (why, with the file and line), C(status) (ok, missing, unreadable,
            not_a_file, disabled for an empty C(resolvConf)), C(nameservers), C(search), C(config_path), C(config_status), C(resolved_active),
            C(flag_files).
          type: dict
        rancher_config:
          description: Only where k3s's or rke2's config exists - C(distribution), C(also_present), C(files) (C(config.yaml) then
            C(config.yaml.d/*.yaml) alphabetically), C(values) (C(cluster-cidr), C(service-cidr), C(resolv-conf), C(kubelet-arg) each with
            C(value), C(file), C(line), and C(unparsed) when the minimal reader cannot read its form), C(errors) (C(file), C(line), C(error)).
          type: dict
          returned: when /etc/rancher/k3s/config.yaml or /etc/rancher/rke2/config.yaml (or a drop-in) exists
        identity:
          description: hostname (the kernel's; C(/etc/hostname)'s for an image root), etc_hostname (the name C(/etc/hostname) gives the next boot)
            and etc_hostname_status, fqdn (from C(/etc/hosts), never from DNS), machine_id, product_uuid.
          type: dict
        clock:
          description: The host's clock (C(host_epoch)) bracketed by the controller's (C(controller_before), C(controller_after)),
            C(offset_s) and C(uncertainty_s); running system only.
          type: dict
        cloud_init:
          description: Whether cloud-init is configured to rewrite C(/etc/hosts) (C(manages_hosts)) and its templates.
          type: dict
        network_managers:
          description: Network configuration systems found, each with the files that show it.
          type: list
          elements: dict
        search_domains:
          description: For each search domain of C(resolv.conf), what the first nameserver answers for C(localhost.<domain>)
            (1 s bounds each whole lookup however many stray datagrams arrive, queries in parallel; a malformed answer
            with the query's id ends that lookup as an C(error)) and whether a random label under it answers too
            (C(wildcard)).
          type: dict
        networkmanager:
          description: Whether the host's own NetworkManager runs (C(running); one in another network or mount namespace,
            such as a container's, does not count), its C(config_files) in reading order, the merged
            C(unmanaged_devices) specs and the C(unmanaged_sections) (C([device*]) sections with C(managed=0)).
          type: dict
        container_network:
          description: C(docker_daemon_json) (C(/etc/docker/daemon.json)), C(docker_options) when docker's options file
            is present, and C(flannel_subnet_env) (C(/run/flannel/subnet.env)), each a file fact (C(status), C(path),
            and the values read, for example C(bip), C(mtu), C(FLANNEL_SUBNET)).
          type: dict
        node_pinning:
          description: What pins the node's interface today, C(kubelet_file) and C(kubelet_node_ip) (C(--node-ip) in
            C(KUBELET_EXTRA_ARGS)), C(flannel_iface) (C(-iface) in C(FLANNEL_OPTIONS)); null where unset.
          type: dict
        kernel_modules:
          description:
            - The running kernel's modules (running system only). C(release) (C(uname -r)); C(loaded) - C(status) (ok,
              missing), C(names) from C(/proc/modules) (at most 4096), C(truncated); C(module_support) - false when
              C(/proc/modules) does not exist (a kernel without loadable modules).
            - C(module_dir) (C(/lib/modules/<release>) or C(/usr/lib/modules/<release>)) and C(module_dir_exists) (false in
              most containers); C(builtin) and C(loadable) - C(status), C(path), C(count), C(truncated) of
              C(modules.builtin) and C(modules.dep) (16 MiB and 200000 lines at most, decoded with replacement).
            - C(modules) - for each module a node may need (C(br_netfilter), C(overlay), C(nf_conntrack), C(nf_tables),
              C(vxlan), C(ipip), C(dummy), C(ip_vs), C(ip_vs_rr), C(ip_vs_wrr), C(ip_vs_sh)) - C(loaded), C(builtin),
              C(loadable) (its file in C(modules.dep), plain or compressed, C(-) and C(_) alike, or null), C(sysfs)
              (C(/sys/module/<name>) exists), C(sign) (a file only the module makes, or null), C(config) (its option in the
              kernel's config - C(y), C(m), or null when not set; absent when no config was read).
            - C(config) - C(source) (C(/proc/config.gz) or C(/boot/config-<release>), at most 4 MiB, or null) and C(status)
              (ok, missing, error). C(errors) - sources that could not be read (also in C(problems)).
          type: dict
          sample: {status: ok, release: 6.1.0-28-amd64, module_support: true, module_dir: /lib/modules/6.1.0-28-amd64,
                   module_dir_exists: true, modules: {vxlan: {loaded: false, builtin: false,
                   loadable: kernel/drivers/net/vxlan/vxlan.ko, sysfs: false, sign: null}}}
        port_holders:
          description:
            - The sockets on the ports Kubernetes' own processes and every known CNI use (C(ports), as C(tcp/6443)) - TCP
              listening, UDP bound, IPv4 and IPv6 - in C(list), each with C(proto), C(port), C(address), C(inode) (0 for a
              socket of the kernel's own) and C(processes) that hold it (C(pid), C(comm), C(command) - at most 512
              characters of its command line - at most 8 a socket), read from C(/proc/net) and C(/proc/<pid>/fd).
            - C(status) C(partial) with C(error) when a socket table had more than 200000 lines or the processes were not
              all read within 3 s. Running system only; without root, other users' processes are not found.
          type: dict
          sample: {status: ok, ports: [tcp/6443], list: [{proto: tcp, port: 6443, address: "0.0.0.0:6443", inode: 4242,
                   processes: [{pid: 812, comm: haproxy, command: "/usr/sbin/haproxy -f /etc/haproxy/haproxy.cfg"}]}]}
        netfilter:
          description:
            - How the host's firewall judges forwarded traffic. C(nftables) - from C(nft -j list ruleset) - C(forward_chains),
              each base chain on the forward hook with C(family), C(table), C(chain), C(priority), C(policy), C(rules) (its
              rule count) and C(accepts) (its accept, jump and goto rules, at most 32, C(accepts_cut) past them).
            - C(iptables) - C(nft) from C(iptables-nft-save), C(legacy) from C(iptables-legacy-save) - C(rules) (the C(-A)
              rules of every table), C(tables) (the count per table) and C(forward) (the filter table's FORWARD chain,
              C(policy), C(rules), C(accepts)). An accept is C(verdict), C(target), C(sources), C(destinations),
              C(conditions) (every other match) and C(text), at most 300 characters.
            - C(firewalld) - C(active) (true, false, or null when unknown), C(source) (C(firewall-cmd), or C(files) -
              a firewalld process and C(/etc/firewalld) when firewall-cmd is missing), C(default_zone), C(zones) (each
              with C(interfaces), C(sources), and C(target) when read from the files).
            - Each part has C(status) C(ok), C(partial) (output cut at 4 MiB or 200000 lines) or C(unknown) with C(reason)
              (the tool is not installed, failed or ran past 5 s; an installed tool that fails is also in C(problems)).
              Running system only.
          type: dict
          sample: {nftables: {status: unknown, reason: nft (nftables) is not installed}, iptables: {legacy: {status: ok,
                   rules: 1, tables: {filter: 1}, forward: {policy: drop, rules: 1, accepts: []}}}, firewalld: {status: ok,
                   source: files, active: false}}
        proxy_env:
          description:
            - The HTTP(S) proxy settings C(kubelet), C(containerd), C(crio) and C(docker) get from their systemd unit and drop-ins
              (C(Environment=), then the files C(EnvironmentFile=) names, which override them) in C(services), and root's login
              environment (C(/etc/environment), C(/etc/profile), C(/etc/profile.d/*.sh), C(/root/.profile), C(/root/.bashrc);
              simple C(export X=value) and C(X=value) lines only) in C(login).
            - Each of C(vars) is C(HTTP_PROXY), C(HTTPS_PROXY), C(NO_PROXY) (either case) or C(REQUEST_METHOD), with its C(value),
              C(file) and C(line); a proxy URL's password is replaced by C(REDACTED). C(partial) names each bound reached
              (64 files, 256 KiB a file, 2 s).
          type: dict
          sample: {status: ok, services: {containerd: {unit: /lib/systemd/system/containerd.service,
                   files: [/lib/systemd/system/containerd.service, /etc/systemd/system/containerd.service.d/http-proxy.conf],
                   env_files: [], unparsed: [], vars: {HTTPS_PROXY: {value: "http://proxy:REDACTED@10.0.0.3:3128",
                   file: /etc/systemd/system/containerd.service.d/http-proxy.conf, line: 2}}}}, login: {files: [], vars: {}},
                   partial: [], parser: simple assignments only}
        tools:
          description:
            - C(ip), the path of the iproute2 command used (null when missing; C(/sbin) and C(/usr/sbin) are searched too).
            - C(in_path) - for each command kubeadm's preflight looks up in PATH (C(ip), C(iptables), C(mount), C(nsenter),
              C(conntrack), C(ethtool), C(socat), C(tc)), where a PATH lookup finds it (the first executable file of that name
              in an absolute PATH directory), or null; C(elsewhere) - for one not in PATH, where it is in the usual
              C(/usr/local/sbin), C(/usr/local/bin), C(/usr/sbin), C(/usr/bin), C(/sbin), C(/bin); C(path) - the PATH searched,
              the module's own (root's, with become), at most 4096 characters and 64 entries (C(path_truncated) when cut).
            - Only for the running system.
          type: dict
          sample: {ip: /usr/sbin/ip, path: "/usr/local/bin:/usr/bin:/bin", in_path: {ip: /usr/bin/ip, socat: null},
                   elsewhere: {iptables: /usr/sbin/iptables}}
        datastore_rtt:
          description: Per endpoint, C(connect) and C(request) with C(samples_ms), C(median_ms), C(worst_ms), the
            C(http_status), and C(errors). Only when O(datastore_endpoints) is set.
          type: list
          elements: dict
        problems:
          description: Every source that could not be read, with the reason; also each odd one that was read, its
            other facts kept (a string of bytes that are not UTF-8, such as a hostname or a file name, named by its place
            in the facts and shown with C(\xff) escapes, where the facts carry U+FFFD; an interface name with a control
            character).
          type: list
          elements: dict
        duration_ms:
          description: Time the module spent gathering, on the host.
          type: float
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubeprep.hostnet.plugins.module_utils.gather import gather
from ansible_collections.kubeprep.hostnet.plugins.module_utils.iproute import run_readonly
from ansible_collections.kubeprep.hostnet.plugins.module_utils.portprobe import listen as probe_listen


def main():
    module = AnsibleModule(
        argument_spec=dict(
            root=dict(type="path", default="/"),
            service_ips=dict(type="list", elements="str", default=["10.96.0.1"]),
            resolver_timeout=dict(type="float", default=2.0),
            datastore_endpoints=dict(type="list", elements="raw", default=[]),
            rtt_samples=dict(type="int", default=5),
            rtt_timeout=dict(type="float", default=2.0),
            rtt_budget=dict(type="float", default=20.0),
            go_binaries=dict(type="str", default="auto", choices=["auto", "always", "never"]),
            go_binary_paths=dict(type="list", elements="str"),
            kubelet_resolv_conf=dict(type="str"),
            port_probe_listen=dict(type="dict"),  # {ports, lifetime, token}, from the action plugin's {cni, etcd_group}
            port_probe_key=dict(type="str", no_log=True),  # the listener's secret, set by the action plugin
        ),
        supports_check_mode=True,
    )
    if module.params["resolver_timeout"] <= 0:
        module.fail_json(msg="resolver_timeout must be greater than 0")
    if not 1 <= module.params["rtt_samples"] <= 100 or module.params["rtt_timeout"] <= 0 or module.params["rtt_budget"] <= 0:
        module.fail_json(msg="rtt_samples must be 1-100, rtt_timeout and rtt_budget greater than 0")

    resolv_override = module.params["kubelet_resolv_conf"] or None
    if resolv_override and (not resolv_override.startswith("/") or any(ord(c) < 32 for c in resolv_override)):
        module.fail_json(msg="kubelet_resolv_conf must be an absolute path without control characters, not %r" % resolv_override)

    def which(name):
        return module.get_bin_path(name, opt_dirs=["/sbin", "/usr/sbin"])

    facts = gather(
        root=module.params["root"],
        # kubeadm's dual-stack serviceSubnet ("IPv4,IPv6") as one item: a lookup for each family's first Service IP.
        service_ips=[part.strip() for item in module.params["service_ips"] for part in item.split(",") if part.strip()],
        resolver_timeout=module.params["resolver_timeout"],
        run_command=run_readonly,
        which=which,
        endpoints=module.params["datastore_endpoints"],
        rtt_options={"samples": module.params["rtt_samples"], "timeout": module.params["rtt_timeout"], "budget": module.params["rtt_budget"]},
        go_binaries=module.params["go_binaries"],
        go_patterns=[p.lstrip("/") for p in module.params["go_binary_paths"] or []] or None,
        kubelet_resolv_conf=resolv_override,
    )
    published = {"hostnet": facts}
    listen = module.params["port_probe_listen"] or {}
    if listen.get("ports"):
        # The port probes' listener, started here so the probes cost no task (and no process start) more.
        try:
            published["hostnet_probe_listen"] = probe_listen(listen["ports"], float(listen.get("lifetime") or 130), module.params["port_probe_key"])
        except (IOError, OSError, ValueError, KeyError, TypeError) as exc:
            published["hostnet_probe_listen"] = {"failed": True, "msg": "the listener did not start: %s" % exc}
    module.exit_json(changed=False, ansible_facts=published)


if __name__ == "__main__":
    main()
