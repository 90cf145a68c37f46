package demo

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

const (
	istioHub     = "docker.io/istio"
	istioVersion = "1.31.1"
	trustDomain  = "cluster.local"

	labelDataplaneMode = "istio.io/dataplane-mode"
	labelUseWaypoint   = "istio.io/use-waypoint"
	labelWaypointFor   = "istio.io/waypoint-for"
	labelGatewayName   = "gateway.networking.k8s.io/gateway-name"
	labelManaged       = "gateway.istio.io/managed"
	meshController     = "istio.io-mesh-controller"
	ingressController  = "istio.io-gateway-controller"

	// ingressGateway is the Gateway of class istio in istio-ingress, and
	// ingressAddress the LAN address its LoadBalancer Service was given.
	ingressGateway = "public"
	ingressAddress = "10.0.10.240"
)

// namespace is one namespace and when it joined the mesh.
type namespace struct {
	name   string
	age    time.Duration
	labels map[string]string
	// enrolled is how long ago istio.io/dataplane-mode=ambient was added.
	// The API keeps no history of labels, but managedFields records when the
	// `kubectl label` that added it ran, which is how a user can tell that a
	// pod is older than its namespace's enrollment.
	enrolled time.Duration
}

// namespaces of the homelab. The ambient ones were enrolled after Istio
// 1.31.1 went in (nine days ago) and their pods rolled afterwards, except
// unipoller's unpoller (planted mistake 1).
func namespaces() []namespace {
	amb := func() map[string]string { return map[string]string{labelDataplaneMode: "ambient"} }
	// Most namespaces were labelled one evening and rolled an hour later.
	const rollout = 8*day + time.Hour
	return []namespace{
		// ambient-apps was created already labelled, a few minutes before its pods.
		{name: "ambient-apps", age: 2*day + 10*time.Minute, enrolled: 2*day + 10*time.Minute, labels: map[string]string{labelDataplaneMode: "ambient", labelUseWaypoint: "waypoint"}},
		{name: "argo-workflows", age: 190 * day, enrolled: rollout, labels: amb()},
		{name: "default", age: 412 * day, enrolled: rollout, labels: amb()},
		{name: "example-admin", age: 16 * day},
		{name: "example-api", age: 16 * day, enrolled: 7*day + 25*time.Minute, labels: amb()},
		{name: "example-worker", age: 16 * day, enrolled: 7*day + 25*time.Minute, labels: amb()},
		{name: "homepage", age: 60 * day, enrolled: rollout, labels: amb()},
		{name: "istio-ingress", age: 96 * day},
		{name: "istio-system", age: 96 * day},
		{name: "kube-node-lease", age: 412 * day},
		{name: "kube-public", age: 412 * day},
		{name: "kube-system", age: 412 * day},
		{name: "legacy-apps", age: 240 * day, labels: map[string]string{"istio-injection": "enabled"}},
		{name: "localstack", age: 133 * day, enrolled: rollout, labels: amb()},
		{name: "loki", age: 301 * day, enrolled: rollout, labels: amb()},
		{name: "trivy-system", age: 64 * day, enrolled: rollout, labels: amb()},
		{name: "unipoller", age: 200 * day, enrolled: 6 * day, labels: amb()},
	}
}

func istio(name string) (repo, tag string) { return istioHub + "/" + name, istioVersion }

// helm returns the selector labels a Helm chart puts on its pods.
func helm(name, instance string, component ...string) map[string]string {
	l := map[string]string{"app.kubernetes.io/name": name, "app.kubernetes.io/instance": instance}
	if len(component) > 0 {
		l["app.kubernetes.io/component"] = component[0]
	}
	return l
}

// every is the same usage for each of n pods.
func every(n int, u usage) []usage {
	out := make([]usage, n)
	for i := range out {
		out[i] = u
	}
	return out
}

// podinfo is the app the example namespaces run.
func podinfo(name string, use []usage) container {
	return container{name: name, repo: "ghcr.io/stefanprodan/podinfo", tag: "6.9.1",
		args:  []string{"./podinfo", "--port=9898", "--port-metrics=9797", "--grpc-port=9999", "--level=info"},
		ports: []corev1.ContainerPort{tcp("http", 9898), tcp("http-metrics", 9797), tcp("grpc", 9999)},
		cpu:   "10m", mem: "64Mi", memLimit: "256Mi", use: use,
		readyProbe: probe("/readyz", intstr.FromString("http"))}
}

func curl(name string, use usage) container {
	return container{name: name, repo: "docker.io/curlimages/curl", tag: "8.16.0",
		args: []string{"/bin/sleep", "infinity"}, cpu: "10m", mem: "16Mi", use: []usage{use}}
}

// waypointApp is the Deployment istiod generates for a waypoint Gateway
// (same name as the Gateway, see ambient-reference.md 1.6).
func waypointApp(ns, gw, node string, use usage, age time.Duration) app {
	repo, tag := istio("proxyv2")
	return app{ns: ns, name: gw, nodes: []string{node}, waypoint: gw,
		selector: map[string]string{labelGatewayName: gw},
		labels: map[string]string{
			"gateway.networking.k8s.io/gateway-class-name": "istio-waypoint",
			labelManaged:                          meshController,
			labelDataplaneMode:                    "none",
			"sidecar.istio.io/inject":             "false",
			"service.istio.io/canonical-name":     gw,
			"service.istio.io/canonical-revision": "latest",
		},
		annotations: map[string]string{"istio.io/rev": "default", "prometheus.io/path": "/stats/prometheus", "prometheus.io/port": "15020", "prometheus.io/scrape": "true"},
		age:         age, podAge: age,
		containers: []container{{name: "istio-proxy", repo: repo, tag: tag,
			args:  []string{"proxy", "waypoint", "--domain", ns + ".svc.cluster.local", "--serviceCluster", gw + "." + ns, "--proxyLogLevel", "warning", "--proxyComponentLogLevel", "misc:error", "--log_output_level", "default:info"},
			ports: []corev1.ContainerPort{tcp("metrics", 15020), tcp("status-port", 15021), tcp("http-envoy-prom", 15090)},
			cpu:   "100m", mem: "128Mi", memLimit: "1Gi", use: []usage{use},
			readyProbe: probe("/healthz/ready", intstr.FromInt32(15021))}},
		services: []service{{
			labels: map[string]string{labelGatewayName: gw, "gateway.networking.k8s.io/gateway-class-name": "istio-waypoint",
				labelManaged: meshController, labelWaypointFor: "service"},
			annotations: map[string]string{"networking.istio.io/traffic-distribution": "PreferClose"},
			// The template declares no container port 15008; the Service
			// forwards to it by number.
			ports: []corev1.ServicePort{nport("status-port", 15021, 15021), nport("mesh", 15008, 15008)},
		}},
	}
}

// ingressGatewayApp is the Deployment istiod generates for a Gateway of
// class istio: named <gateway>-istio (GetDefaultName), its pods labelled
// dataplane-mode=none because ambient waypoints are on (setLabelOverrides),
// so ztunnel does not capture them and their Envoy sends HBONE itself.
func ingressGatewayApp(ns, gw, node, lbIP string, port int32, use usage, age time.Duration) app {
	repo, tag := istio("proxyv2")
	name := gw + "-istio"
	return app{ns: ns, name: name, nodes: []string{node}, waypoint: gw,
		selector: map[string]string{labelGatewayName: gw},
		labels: map[string]string{
			"gateway.networking.k8s.io/gateway-class-name": "istio",
			labelManaged:                          ingressController,
			labelDataplaneMode:                    "none",
			"sidecar.istio.io/inject":             "false",
			"service.istio.io/canonical-name":     name,
			"service.istio.io/canonical-revision": "latest",
		},
		annotations: map[string]string{"istio.io/rev": "default", "prometheus.io/path": "/stats/prometheus", "prometheus.io/port": "15020", "prometheus.io/scrape": "true"},
		age:         age, podAge: 9 * day,
		containers: []container{{name: "istio-proxy", repo: repo, tag: tag,
			args:  []string{"proxy", "router", "--domain", ns + ".svc.cluster.local", "--proxyLogLevel", "warning", "--proxyComponentLogLevel", "misc:error", "--log_output_level", "default:info"},
			ports: []corev1.ContainerPort{tcp("metrics", 15020), tcp("status-port", 15021), tcp("http-envoy-prom", 15090)},
			cpu:   "100m", mem: "128Mi", memLimit: "1Gi", use: []usage{use},
			readyProbe: probe("/healthz/ready", intstr.FromInt32(15021))}},
		services: []service{{
			labels:       map[string]string{labelGatewayName: gw, "gateway.networking.k8s.io/gateway-class-name": "istio", labelManaged: ingressController},
			ports:        []corev1.ServicePort{nport("status-port", 15021, 15021), nport("http", port, port)},
			loadBalancer: lbIP,
		}},
	}
}

// The meshed namespaces of the issue hold 29 pods that ambient captured:
//
//	default         8  prometheus-0, alertmanager-0, grafana, kube-state-metrics,
//	                   pushgateway, blackbox-exporter, snmp-exporter, speedtest-exporter
//	loki           14  loki-0, loki-chunks-cache-0, loki-results-cache-0, loki-gateway,
//	                   loki-canary x5, promtail x5 (both DaemonSets, one pod per node)
//	localstack      1  localstack
//	argo-workflows  3  argo-workflows-server x2, argo-workflows-workflow-controller
//	unipoller       1  influxdb-0 (unpoller is NOT captured and not counted: planted mistake 1)
//	trivy-system    2  trivy-operator, trivy-server-0
//	               --
//	               29
//
// The example namespaces, ambient-apps and homepage add 8 more captured
// pods (example-api x2, worker x2, httpbin, sleep, rogue-client, homepage):
// 37 in the cluster. Waypoint and ingress gateway pods carry
// dataplane-mode=none and are not captured, nor are ztunnel, istio-cni,
// istiod, kube-system, example-admin and the sidecar pods of legacy-apps.
func apps() []app {
	const w1, w2, w3, w4 = "homelab-w1", "homelab-w2", "homelab-w3", "homelab-w4"
	all := nodeNames()
	nodes := len(all)
	var a []app

	// kube-system: a kubeadm control plane, kube-proxy, Calico (the
	// NetworkPolicy enforcer), CoreDNS and metrics-server. istio-cni
	// excludes the namespace from ambient.
	for _, c := range []struct {
		name, repo string
		use        usage
	}{
		{"etcd", "registry.k8s.io/etcd", usage{38, 96}},
		{"kube-apiserver", "registry.k8s.io/kube-apiserver", usage{62, 612}},
		{"kube-controller-manager", "registry.k8s.io/kube-controller-manager", usage{19, 71}},
		{"kube-scheduler", "registry.k8s.io/kube-scheduler", usage{4, 27}},
	} {
		tag := kubeletVersion
		if c.name == "etcd" {
			tag = "3.6.4-0"
		}
		a = append(a, app{ns: "kube-system", name: c.name, kind: staticPod, nodes: []string{controlPlane},
			selector:    map[string]string{"component": c.name, "tier": "control-plane"},
			hostNetwork: true, priority: "system-node-critical", age: 33 * day, podAge: 33 * day,
			containers: []container{{name: c.name, repo: c.repo, tag: tag, cpu: "100m", use: []usage{c.use}}}})
	}
	a = append(a,
		app{ns: "kube-system", name: "kube-proxy", kind: daemonSet, nodes: all,
			selector: map[string]string{"k8s-app": "kube-proxy"}, hostNetwork: true, priority: "system-node-critical",
			age: 412 * day, podAge: 33 * day,
			containers: []container{{name: "kube-proxy", repo: "registry.k8s.io/kube-proxy", tag: kubeletVersion,
				use: []usage{{3, 24}, {1, 21}, {2, 22}, {1, 20}, {1, 21}}}}},
		app{ns: "kube-system", name: "calico-node", kind: daemonSet, nodes: all,
			selector: map[string]string{"k8s-app": "calico-node"}, hostNetwork: true, priority: "system-node-critical",
			age: 412 * day, podAge: 33 * day,
			containers: []container{{name: "calico-node", repo: "docker.io/calico/node", tag: "v3.30.3", cpu: "250m",
				use: []usage{{31, 142}, {22, 128}, {27, 131}, {19, 126}, {21, 127}}}}},
		app{ns: "kube-system", name: "calico-kube-controllers", nodes: []string{w4},
			selector: map[string]string{"k8s-app": "calico-kube-controllers"}, priority: "system-cluster-critical",
			age: 412 * day, podAge: 33 * day,
			containers: []container{{name: "calico-kube-controllers", repo: "docker.io/calico/kube-controllers", tag: "v3.30.3",
				use: []usage{{2, 19}}}}},
		app{ns: "kube-system", name: "coredns", nodes: []string{w1, w3},
			selector: map[string]string{"k8s-app": "kube-dns"}, priority: "system-cluster-critical",
			age: 412 * day, podAge: 33 * day,
			containers: []container{{name: "coredns", repo: "registry.k8s.io/coredns/coredns", tag: "v1.12.1",
				args:  []string{"-conf", "/etc/coredns/Corefile"},
				ports: []corev1.ContainerPort{udp("dns", 53), tcp("dns-tcp", 53), tcp("metrics", 9153)},
				cpu:   "100m", mem: "70Mi", memLimit: "170Mi", use: []usage{{3, 17}, {2, 15}},
				readyProbe: probe("/ready", intstr.FromInt32(8181))}},
			services: []service{{name: "kube-dns", labels: map[string]string{"k8s-app": "kube-dns", "kubernetes.io/name": "CoreDNS"},
				ports: []corev1.ServicePort{udpPort("dns", 53, "dns"), sport("dns-tcp", 53, "dns-tcp"), sport("metrics", 9153, "metrics")}}}},
		app{ns: "kube-system", name: "metrics-server", nodes: []string{w2},
			selector: map[string]string{"k8s-app": "metrics-server"}, priority: "system-cluster-critical",
			age: 380 * day, podAge: 33 * day,
			containers: []container{{name: "metrics-server", repo: "registry.k8s.io/metrics-server/metrics-server", tag: "v0.8.0",
				args:  []string{"--cert-dir=/tmp", "--secure-port=10250", "--kubelet-preferred-address-types=InternalIP", "--kubelet-use-node-status-port", "--metric-resolution=15s"},
				ports: []corev1.ContainerPort{tcp("https", 10250)}, cpu: "100m", mem: "200Mi", use: []usage{{5, 24}}}},
			services: []service{{ports: []corev1.ServicePort{sport("https", 443, "https")}}}},
	)

	// istio-system: istiod, istio-cni and ztunnel, Istio 1.31.1 installed
	// with the ambient profile nine days ago.
	pilot, pilotTag := istio("pilot")
	cni, cniTag := istio("install-cni")
	zt, ztTag := istio("ztunnel")
	a = append(a,
		app{ns: "istio-system", name: "istiod", nodes: []string{w1},
			selector: map[string]string{"app": "istiod", "istio": "pilot"},
			labels:   map[string]string{"istio.io/rev": "default", "sidecar.istio.io/inject": "false", "app.kubernetes.io/name": "istiod"},
			age:      96 * day, podAge: 9 * day,
			containers: []container{{name: "discovery", repo: pilot, tag: pilotTag,
				args:  []string{"discovery", "--monitoringAddr=:15014", "--log_output_level=default:info", "--domain", "cluster.local", "--keepaliveMaxServerConnectionAge", "30m"},
				ports: []corev1.ContainerPort{tcp("http-debug", 8080), tcp("grpc-xds", 15010), tcp("tls-xds", 15012), tcp("https-webhooks", 15017), tcp("http-monitoring", 15014)},
				cpu:   "500m", mem: "2048Mi", use: []usage{{3, 39}},
				readyProbe: probe("/ready", intstr.FromInt32(8080))}},
			services: []service{{labels: map[string]string{"app": "istiod", "istio": "pilot", "istio.io/rev": "default"},
				ports: []corev1.ServicePort{sport("grpc-xds", 15010, "grpc-xds"), sport("https-dns", 15012, "tls-xds"), sport("https-webhook", 443, "https-webhooks"), sport("http-monitoring", 15014, "http-monitoring")}}}},
		app{ns: "istio-system", name: "istio-cni-node", kind: daemonSet, nodes: all, sa: "istio-cni",
			selector:    map[string]string{"k8s-app": "istio-cni-node"},
			labels:      map[string]string{"sidecar.istio.io/inject": "false", labelDataplaneMode: "none", "app.kubernetes.io/name": "istio-cni"},
			hostNetwork: true, priority: "system-node-critical", age: 96 * day, podAge: 9 * day,
			containers: []container{{name: "install-cni", repo: cni, tag: cniTag,
				args: []string{"install-cni"}, cpu: "100m", mem: "100Mi",
				use:        []usage{{1, 15}, {1, 14}, {2, 15}, {1, 14}, {1, 13}},
				readyProbe: probe("/readyz", intstr.FromInt32(8000))}}},
		app{ns: "istio-system", name: "ztunnel", kind: daemonSet, nodes: all,
			selector: map[string]string{"app": "ztunnel"},
			labels: map[string]string{"app.kubernetes.io/name": "ztunnel", labelDataplaneMode: "none",
				"sidecar.istio.io/inject": "false", "istio.io/rev": "default"},
			annotations: map[string]string{"prometheus.io/port": "15020", "prometheus.io/scrape": "true"},
			priority:    "system-node-critical", age: 96 * day, podAge: 9 * day,
			containers: []container{{name: "istio-proxy", repo: zt, tag: ztTag, args: []string{"proxy", "ztunnel"},
				ports: []corev1.ContainerPort{tcp("ztunnel-stats", 15020)}, cpu: "200m", mem: "512Mi",
				// homelab-w2 runs loki-0, which every promtail and canary
				// ships to, so its ztunnel carries the most HBONE.
				use:        []usage{{4, 7}, {6, 8}, {19, 13}, {7, 8}, {5, 8}},
				readyProbe: probe("/healthz/ready", intstr.FromInt32(15021))}}},
	)

	// default: the monitoring stack.
	a = append(a,
		app{ns: "default", name: "prometheus", kind: statefulSet, nodes: []string{w3},
			selector: helm("prometheus", "prometheus"), mode: captured, age: 300 * day, podAge: 8 * day,
			containers: []container{{name: "prometheus", repo: "quay.io/prometheus/prometheus", tag: "v3.5.0",
				args:  []string{"--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus", "--storage.tsdb.retention.time=30d", "--web.enable-lifecycle"},
				ports: []corev1.ContainerPort{tcp("web", 9090)}, cpu: "200m", mem: "512Mi", memLimit: "2Gi",
				use: []usage{{40, 400}}, readyProbe: probe("/-/ready", intstr.FromString("web"))}},
			services: []service{{ports: []corev1.ServicePort{sport("http", 9090, "web")}}}},
		app{ns: "default", name: "alertmanager", kind: statefulSet, nodes: []string{w4},
			selector: helm("alertmanager", "prometheus"), mode: captured, age: 300 * day, podAge: 8 * day,
			containers: []container{{name: "alertmanager", repo: "quay.io/prometheus/alertmanager", tag: "v0.28.1",
				args:  []string{"--config.file=/etc/alertmanager/alertmanager.yml", "--storage.path=/alertmanager"},
				ports: []corev1.ContainerPort{tcp("http", 9093)}, cpu: "10m", mem: "32Mi",
				use: []usage{{2, 21}}, readyProbe: probe("/-/ready", intstr.FromString("http"))}},
			services: []service{{ports: []corev1.ServicePort{sport("http", 9093, "http")}}}},
		app{ns: "default", name: "grafana", nodes: []string{w1},
			selector: helm("grafana", "grafana"), mode: captured, age: 300 * day, podAge: 8 * day, restarts: 1,
			containers: []container{{name: "grafana", repo: "docker.io/grafana/grafana", tag: "12.1.1",
				ports: []corev1.ContainerPort{tcp("grafana", 3000)}, cpu: "50m", mem: "128Mi", memLimit: "512Mi",
				use: []usage{{9, 118}}, readyProbe: probe("/api/health", intstr.FromInt32(3000))}},
			services: []service{{ports: []corev1.ServicePort{sport("service", 80, "grafana")}}}},
		app{ns: "default", name: "kube-state-metrics", nodes: []string{w4},
			selector: helm("kube-state-metrics", "prometheus"), mode: captured, age: 300 * day, podAge: 8 * day,
			containers: []container{{name: "kube-state-metrics", repo: "registry.k8s.io/kube-state-metrics/kube-state-metrics", tag: "v2.16.0",
				args:  []string{"--port=8080", "--telemetry-port=8081"},
				ports: []corev1.ContainerPort{tcp("http", 8080), tcp("telemetry", 8081)}, cpu: "10m", mem: "32Mi",
				use: []usage{{3, 29}}, readyProbe: probe("/readyz", intstr.FromInt32(8081))}},
			services: []service{{ports: []corev1.ServicePort{sport("http", 8080, "http")}}}},
		app{ns: "default", name: "pushgateway", nodes: []string{w3},
			selector: helm("prometheus-pushgateway", "prometheus"), mode: captured, age: 300 * day, podAge: 8 * day,
			containers: []container{{name: "pushgateway", repo: "quay.io/prometheus/pushgateway", tag: "v1.11.1",
				ports: []corev1.ContainerPort{tcp("metrics", 9091)}, cpu: "10m", mem: "16Mi", use: []usage{{1, 11}}}},
			services: []service{{ports: []corev1.ServicePort{sport("http", 9091, "metrics")}}}},
		app{ns: "default", name: "blackbox-exporter", nodes: []string{w1},
			selector: helm("prometheus-blackbox-exporter", "blackbox"), mode: captured, age: 250 * day, podAge: 8 * day,
			containers: []container{{name: "blackbox-exporter", repo: "quay.io/prometheus/blackbox-exporter", tag: "v0.27.0",
				ports: []corev1.ContainerPort{tcp("http", 9115)}, cpu: "10m", mem: "16Mi", use: []usage{{1, 14}}}},
			services: []service{{ports: []corev1.ServicePort{sport("http", 9115, "http")}}}},
		app{ns: "default", name: "snmp-exporter", nodes: []string{w4},
			selector: helm("prometheus-snmp-exporter", "snmp"), mode: captured, age: 250 * day, podAge: 8 * day,
			containers: []container{{name: "snmp-exporter", repo: "quay.io/prometheus/snmp-exporter", tag: "v0.29.0",
				ports: []corev1.ContainerPort{tcp("http", 9116)}, cpu: "10m", mem: "32Mi", use: []usage{{2, 19}}}},
			services: []service{{ports: []corev1.ServicePort{sport("http", 9116, "http")}}}},
		app{ns: "default", name: "speedtest-exporter", nodes: []string{w3},
			selector: map[string]string{"app": "speedtest-exporter"}, mode: captured, age: 180 * day, podAge: 8 * day,
			containers: []container{{name: "speedtest-exporter", repo: "ghcr.io/miguelndecarvalho/speedtest-exporter", tag: "v3.5.4",
				ports: []corev1.ContainerPort{tcp("http", 9798)}, cpu: "10m", mem: "32Mi", use: []usage{{1, 22}}}},
			services: []service{{ports: []corev1.ServicePort{sport("http", 9798, "http")}}}},
	)

	// loki: single-binary Loki with its caches, gateway and canaries, and
	// promtail on every node shipping to it.
	lokiRepo, lokiTag := "docker.io/grafana/loki", "3.5.3"
	memcached := func(component string, use usage) app {
		name := "loki-" + component
		return app{ns: "loki", name: name, kind: statefulSet, nodes: []string{w2},
			selector: helm("loki", "loki", "memcached-"+component), sa: "loki", mode: captured, age: 301 * day, podAge: 8 * day,
			containers: []container{{name: "memcached", repo: "docker.io/library/memcached", tag: "1.6.39-alpine",
				args:  []string{"-m", "1024", "--extended=modern,track_sizes", "-I", "5m", "-c", "16384", "-v", "-u", "11211"},
				ports: []corev1.ContainerPort{tcp("client", 11211)}, cpu: "100m", mem: "1229Mi", use: []usage{use}}},
			services: []service{{headless: true, ports: []corev1.ServicePort{sport("memcached-client", 11211, "client")}}}}
	}
	a = append(a,
		app{ns: "loki", name: "loki", kind: statefulSet, nodes: []string{w2},
			selector: helm("loki", "loki", "single-binary"), mode: captured, age: 301 * day, podAge: 8 * day,
			containers: []container{{name: "loki", repo: lokiRepo, tag: lokiTag,
				args:  []string{"-config.file=/etc/loki/config/config.yaml", "-target=all"},
				ports: []corev1.ContainerPort{tcp("http-metrics", 3100), tcp("grpc", 9095), tcp("http-memberlist", 7946)},
				cpu:   "100m", mem: "256Mi", memLimit: "1Gi",
				use: []usage{{25, 180}}, readyProbe: probe("/ready", intstr.FromString("http-metrics"))}},
			services: []service{{ports: []corev1.ServicePort{sport("http-metrics", 3100, "http-metrics"), sport("grpc", 9095, "grpc")}}}},
		memcached("chunks-cache", usage{3, 38}),
		memcached("results-cache", usage{2, 21}),
		app{ns: "loki", name: "loki-gateway", nodes: []string{w3}, sa: "loki",
			selector: helm("loki", "loki", "gateway"), mode: captured, age: 301 * day, podAge: 8 * day,
			containers: []container{{name: "nginx", repo: "docker.io/nginxinc/nginx-unprivileged", tag: "1.29-alpine",
				ports: []corev1.ContainerPort{tcp("http-metrics", 8080)}, cpu: "10m", mem: "16Mi",
				use: []usage{{1, 9}}, readyProbe: probe("/", intstr.FromString("http-metrics"))}},
			services: []service{{ports: []corev1.ServicePort{sport("http-metrics", 80, "http-metrics")}}}},
		app{ns: "loki", name: "loki-canary", kind: daemonSet, nodes: all,
			selector: helm("loki", "loki", "canary"), mode: captured, age: 301 * day, podAge: 8 * day,
			containers: []container{{name: "loki-canary", repo: "docker.io/grafana/loki-canary", tag: lokiTag,
				args:  []string{"-addr=loki-gateway.loki.svc.cluster.local.:80", "-labelname=pod", "-labelvalue=$(POD_NAME)", "-push=true", "-tenant-id=self-monitoring"},
				ports: []corev1.ContainerPort{tcp("http-metrics", 3500)}, cpu: "10m", mem: "16Mi",
				use: every(nodes, usage{1, 11})}},
			services: []service{{ports: []corev1.ServicePort{sport("http-metrics", 3500, "http-metrics")}}}},
		app{ns: "loki", name: "promtail", kind: daemonSet, nodes: all,
			selector: helm("promtail", "promtail"), mode: captured, age: 301 * day, podAge: 8 * day,
			containers: []container{{name: "promtail", repo: "docker.io/grafana/promtail", tag: lokiTag,
				args:  []string{"-config.file=/etc/promtail/promtail.yaml"},
				ports: []corev1.ContainerPort{tcp("http-metrics", 3101)}, cpu: "50m", mem: "64Mi", memLimit: "256Mi",
				use:        []usage{{9, 58}, {8, 52}, {14, 71}, {7, 49}, {8, 50}},
				readyProbe: probe("/ready", intstr.FromString("http-metrics"))}}},
	)

	// localstack: an S3 for argo's artifacts and the example worker.
	a = append(a,
		app{ns: "localstack", name: "localstack", nodes: []string{w4},
			selector: helm("localstack", "localstack"), mode: captured, age: 133 * day, podAge: 8 * day,
			containers: []container{{name: "localstack", repo: "docker.io/localstack/localstack", tag: "4.7",
				ports: []corev1.ContainerPort{tcp("edge", 4566)}, cpu: "100m", mem: "256Mi",
				use: []usage{{12, 296}}, readyProbe: probe("/_localstack/health", intstr.FromString("edge"))}},
			services: []service{{ports: []corev1.ServicePort{sport("edge", 4566, "edge")}}}},
	)

	// argo-workflows
	a = append(a,
		app{ns: "argo-workflows", name: "argo-workflows-server", nodes: []string{w1, w3},
			selector: helm("argo-workflows-server", "argo-workflows", "server"), mode: captured, age: 190 * day, podAge: 8 * day,
			containers: []container{{name: "argo-server", repo: "quay.io/argoproj/argocli", tag: "v3.7.1",
				args:  []string{"server", "--configmap=argo-workflows-workflow-controller-configmap", "--auth-mode=server", "--secure=false"},
				ports: []corev1.ContainerPort{tcp("web", 2746)}, cpu: "10m", mem: "64Mi",
				use: []usage{{2, 41}, {1, 38}}, readyProbe: probe("/", intstr.FromInt32(2746))}},
			services: []service{{ports: []corev1.ServicePort{sport("http", 2746, "web")}}}},
		app{ns: "argo-workflows", name: "argo-workflows-workflow-controller", nodes: []string{w2},
			selector: helm("argo-workflows-workflow-controller", "argo-workflows", "workflow-controller"), mode: captured, age: 190 * day, podAge: 8 * day,
			containers: []container{{name: "controller", repo: "quay.io/argoproj/workflow-controller", tag: "v3.7.1",
				args:  []string{"--configmap", "argo-workflows-workflow-controller-configmap", "--executor-image", "quay.io/argoproj/argoexec:v3.7.1"},
				ports: []corev1.ContainerPort{tcp("metrics", 9090)}, cpu: "10m", mem: "64Mi", use: []usage{{4, 52}}}},
			services: []service{{ports: []corev1.ServicePort{sport("metrics", 8080, "metrics")}}}},
	)

	// unipoller: influxdb was rolled after the namespace was enrolled and is
	// captured; unpoller has run for 41 days and never got the redirection
	// (planted mistake 1: it needs a restart).
	a = append(a,
		app{ns: "unipoller", name: "influxdb", kind: statefulSet, nodes: []string{w4},
			selector: helm("influxdb2", "influxdb"), mode: captured, age: 200 * day, podAge: 5 * day,
			containers: []container{{name: "influxdb2", repo: "docker.io/library/influxdb", tag: "2.7.12",
				ports: []corev1.ContainerPort{tcp("http", 8086)}, cpu: "100m", mem: "256Mi",
				use: []usage{{18, 243}}, readyProbe: probe("/health", intstr.FromString("http"))}},
			services: []service{{ports: []corev1.ServicePort{sport("http", 8086, "http")}}}},
		app{ns: "unipoller", name: "unpoller", nodes: []string{w1},
			selector: map[string]string{"app": "unpoller"}, mode: preEnroll, age: 200 * day, podAge: 41 * day,
			containers: []container{{name: "unpoller", repo: "ghcr.io/unpoller/unpoller", tag: "v2.15.3",
				ports: []corev1.ContainerPort{tcp("metrics", 9130)}, cpu: "10m", mem: "32Mi", use: []usage{{2, 27}}}},
			services: []service{{ports: []corev1.ServicePort{sport("metrics", 9130, "metrics")}}}},
	)

	// trivy-system: the operator in client/server mode.
	a = append(a,
		app{ns: "trivy-system", name: "trivy-operator", nodes: []string{w3},
			selector: helm("trivy-operator", "trivy-operator"), mode: captured, age: 64 * day, podAge: 8 * day,
			containers: []container{{name: "trivy-operator", repo: "mirror.gcr.io/aquasec/trivy-operator", tag: "0.28.0",
				ports: []corev1.ContainerPort{tcp("metrics", 8080), tcp("probes", 9090)}, cpu: "100m", mem: "100Mi",
				use: []usage{{6, 94}}, readyProbe: probe("/readyz/", intstr.FromString("probes"))}},
			services: []service{{ports: []corev1.ServicePort{sport("metrics", 80, "metrics")}}}},
		app{ns: "trivy-system", name: "trivy-server", kind: statefulSet, nodes: []string{w4}, sa: "trivy-operator",
			selector: helm("trivy-server", "trivy-operator"), mode: captured, age: 64 * day, podAge: 8 * day,
			containers: []container{{name: "trivy-server", repo: "mirror.gcr.io/aquasec/trivy", tag: "0.65.0",
				args:  []string{"server", "--listen", "0.0.0.0:4954"},
				ports: []corev1.ContainerPort{tcp("trivy-http", 4954)}, cpu: "200m", mem: "512Mi",
				use: []usage{{3, 187}}, readyProbe: probe("/healthz", intstr.FromString("trivy-http"))}},
			services: []service{{ports: []corev1.ServicePort{sport("trivy-http", 4954, "trivy-http")}}}},
	)

	// The example namespaces: one behind a waypoint, one asking for a
	// waypoint that was never created (planted mistake 2), one not enrolled.
	a = append(a,
		app{ns: "example-api", name: "example-api", nodes: []string{w1, w2},
			selector: map[string]string{"app": "example-api"}, mode: captured, age: 16 * day, podAge: 7 * day,
			containers: []container{podinfo("api", []usage{{2, 19}, {2, 18}})},
			services: []service{{labels: map[string]string{labelUseWaypoint: "example-api-waypoint"},
				ports: []corev1.ServicePort{sport("http", 9898, "http")}, bound: "example-api/example-api-waypoint"}}},
		waypointApp("example-api", "example-api-waypoint", w3, usage{2, 30}, 7*day),
		app{ns: "example-worker", name: "worker", nodes: []string{w2, w4},
			selector: map[string]string{"app": "worker"}, mode: captured, age: 16 * day, podAge: 7 * day,
			containers: []container{podinfo("worker", []usage{{1, 17}, {2, 18}})},
			services: []service{{labels: map[string]string{labelUseWaypoint: "worker-waypoint"},
				ports: []corev1.ServicePort{sport("http", 9898, "http")},
				unbound: &metav1.Condition{Type: "istio.io/WaypointBound", Status: metav1.ConditionFalse, Reason: "WaypointIsNotReady",
					Message: `waypoint "example-worker/worker-waypoint" is not ready`}}}},
		app{ns: "example-admin", name: "admin", nodes: []string{w1},
			selector: map[string]string{"app": "admin"}, age: 16 * day, podAge: 16 * day,
			containers: []container{podinfo("admin", []usage{{1, 16}})},
			services:   []service{{ports: []corev1.ServicePort{sport("http", 9898, "http")}}}},
	)

	// legacy-apps: still on sidecars, pinned to mTLS on the app ports (no
	// HBONE) since before ambient, which its NetworkPolicy relies on.
	plaintext := map[string]string{annotationProxyConfig: plaintextProxyConfig}
	a = append(a,
		app{ns: "legacy-apps", name: "legacy-web", nodes: []string{w3}, annotations: plaintext,
			selector: map[string]string{"app": "legacy-web"}, mode: injected, age: 240 * day, podAge: 9 * day,
			containers: []container{{name: "nginx", repo: "docker.io/library/nginx", tag: "1.29",
				ports: []corev1.ContainerPort{tcp("http", 80)}, cpu: "50m", mem: "64Mi", use: []usage{{1, 8}},
				readyProbe: probe("/", intstr.FromString("http"))}},
			services: []service{{ports: []corev1.ServicePort{sport("http", 80, "http")}}}},
		app{ns: "legacy-apps", name: "legacy-billing", nodes: []string{w4}, annotations: plaintext,
			selector: map[string]string{"app": "legacy-billing"}, mode: injected, age: 240 * day, podAge: 9 * day,
			containers: []container{{name: "billing", repo: "docker.io/hashicorp/http-echo", tag: "1.0",
				args:  []string{"-listen=:5678", "-text=billing ok"},
				ports: []corev1.ContainerPort{tcp("http", 5678)}, cpu: "10m", mem: "16Mi", use: []usage{{1, 6}}}},
			services: []service{{ports: []corev1.ServicePort{sport("http", 8080, "http")}}}},
	)

	// ambient-apps: the istio samples behind a namespace waypoint, with
	// policies at both ends, and a client that is not allowed in.
	a = append(a,
		app{ns: "ambient-apps", name: "httpbin", nodes: []string{w1},
			selector: map[string]string{"app": "httpbin"}, labels: map[string]string{"version": "v1"}, mode: captured, age: 2 * day, podAge: 2 * day,
			containers: []container{{name: "httpbin", repo: "docker.io/mccutchen/go-httpbin", tag: "v2.18.3",
				ports: []corev1.ContainerPort{tcp("http", 8080)}, cpu: "10m", mem: "16Mi", use: []usage{{1, 12}}}},
			// Its L7 policy lives on the waypoint, so ingress must go
			// through it too: without ingress-use-waypoint the gateway
			// would dial the pod and skip the policy.
			services: []service{{labels: map[string]string{"app": "httpbin", "service": "httpbin", "istio.io/ingress-use-waypoint": "true"},
				ports: []corev1.ServicePort{nport("http", 8000, 8080)}, bound: "ambient-apps/waypoint"}}},
		app{ns: "ambient-apps", name: "sleep", nodes: []string{w2},
			selector: map[string]string{"app": "sleep"}, mode: captured, age: 2 * day, podAge: 2 * day,
			containers: []container{curl("sleep", usage{1, 2})}},
		app{ns: "ambient-apps", name: "rogue-client", nodes: []string{w4},
			selector: map[string]string{"app": "rogue-client"}, mode: captured, age: 2 * day, podAge: 2 * day,
			containers: []container{curl("rogue-client", usage{1, 2})}},
		waypointApp("ambient-apps", "waypoint", w3, usage{2, 31}, 2*day),
	)

	// istio-ingress: the homelab's one way in, a Gateway API gateway that
	// serves the homepage dashboard to the LAN; homepage is ambient, and
	// the NetworkPolicy in front of it is planted mistake 8. Last, so the
	// pod addresses handed out before them stay as they were.
	a = append(a,
		ingressGatewayApp("istio-ingress", ingressGateway, w2, ingressAddress, 80, usage{3, 41}, 90*day),
		app{ns: "homepage", name: "homepage", nodes: []string{w1},
			selector: helm("homepage", "homepage"), mode: captured, age: 60 * day, podAge: 8 * day,
			containers: []container{{name: "homepage", repo: "ghcr.io/gethomepage/homepage", tag: "v1.4.6",
				ports: []corev1.ContainerPort{tcp("http", 3000)}, cpu: "10m", mem: "128Mi", memLimit: "256Mi",
				use: []usage{{2, 96}}, readyProbe: probe("/api/healthcheck", intstr.FromString("http"))}},
			services: []service{{ports: []corev1.ServicePort{sport("http", 3000, "http")}}}},
	)
	return a
}
