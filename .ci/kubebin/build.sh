#!/usr/bin/env bash
# Builds the control-plane binaries the cluster tests run (kube/kubeenv) from
# the modules pinned here, so CI needs nothing but the Go module proxy.
#
# Two groups, each rebuilt only when its inputs changed (a stamp per group,
# and go build's own check skips a binary whose dependencies did not move):
#   kube   (this module):  bin/{etcd,kube-apiserver,kube-controller-manager,
#                          kube-scheduler,kwok,metrics-server} and
#                          bin/kwok-config/{stages,crds}
#   istio  (./istio):      bin/pilot-discovery (istiod) and
#                          bin/istio/configmaps.yaml, the istio and
#                          istio-sidecar-injector ConfigMaps rendered by
#                          Istio's installer code from the same module
#
# KUBEBIN_ONLY=kube or KUBEBIN_ONLY=istio builds one group.
set -euo pipefail
cd "$(dirname "$0")"

# The version must match the k8s.io/kubernetes require in go.mod; without it
# the servers report v0.0.0-master+$Format:%H$ to every client.
KUBE_VERSION=v1.36.3

kube_bins=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok metrics-server)
istio_bins=(pilot-discovery istiodconfig)

# stamp GROUP FILES...: what a group's binaries are built from. This script
# is not part of it, so editing one group's recipe does not rebuild the
# other; bump the group's recipe number below when its output changes.
stamp() {
	local group=$1
	shift
	{ echo "$group"; cat "$@"; go version; } | sha256sum | cut -d' ' -f1
}
kube_recipe=2  # 2: controller-manager and scheduler
istio_recipe=1

up_to_date() { # up_to_date GROUP WANT BINS...
	local group=$1 want=$2
	shift 2
	[[ -f bin/.stamp-$group && "$(cat "bin/.stamp-$group")" == "$want" ]] || return 1
	local b
	for b in "$@"; do
		[[ -x bin/$b ]] || return 1
	done
}

build_kube() {
	local want start=$SECONDS
	want=$(stamp "kube-$kube_recipe-$KUBE_VERSION" go.mod go.sum)
	if up_to_date kube "$want" "${kube_bins[@]}"; then
		echo "kubebin: kube binaries in $(pwd)/bin are up to date"
		return 0
	fi
	rm -f bin/.stamp-kube bin/.stamp
	mkdir -p bin

	local major_minor=${KUBE_VERSION#v} major minor ldflags
	major=${major_minor%%.*}
	minor=${major_minor#*.}
	minor=${minor%%.*}
	ldflags="-s -w"
	ldflags+=" -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION"
	ldflags+=" -X k8s.io/component-base/version.gitMajor=$major"
	ldflags+=" -X k8s.io/component-base/version.gitMinor=$minor"
	ldflags+=" -X k8s.io/component-base/version.gitTreeState=clean"

	echo "kubebin: building ${kube_bins[*]} (about 10 minutes cold on 2 cores)"
	go build -buildvcs=false -ldflags "$ldflags" -o bin/ \
		k8s.io/kubernetes/cmd/kube-apiserver \
		k8s.io/kubernetes/cmd/kube-controller-manager \
		k8s.io/kubernetes/cmd/kube-scheduler \
		sigs.k8s.io/kwok/cmd/kwok \
		sigs.k8s.io/metrics-server/cmd/metrics-server
	# etcd's module root is its main package, which go build would name
	# "server"; naming the output keeps go's up-to-date check working.
	go build -buildvcs=false -ldflags "$ldflags" -o bin/etcd go.etcd.io/etcd/server/v3

	# kwok ships its stages and CRDs as YAML inside its module; the harness
	# reads them from here so their version always matches the kwok binary.
	local kwok_dir
	kwok_dir=$(go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)
	rm -rf bin/kwok-config
	mkdir -p bin/kwok-config/stages bin/kwok-config/crds
	install -m 0644 \
		"$kwok_dir"/kustomize/stage/node/fast/node-initialize.yaml \
		"$kwok_dir"/kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
		"$kwok_dir"/kustomize/stage/pod/fast/pod-*.yaml \
		"$kwok_dir"/kustomize/metrics/resource/metrics-resource.yaml \
		"$kwok_dir"/kustomize/metrics/usage/usage-from-annotation.yaml \
		bin/kwok-config/stages/
	install -m 0644 "$kwok_dir"/kustomize/crd/bases/*.yaml bin/kwok-config/crds/

	echo "$want" >bin/.stamp-kube
	echo "kubebin: kube binaries built in $((SECONDS - start))s"
}

build_istio() {
	local want start=$SECONDS
	want=$(stamp "istio-$istio_recipe" istio/go.mod istio/go.sum istio/istiodconfig/main.go)
	if up_to_date istio "$want" "${istio_bins[@]}" && [[ -f bin/istio/configmaps.yaml ]]; then
		echo "kubebin: istio binaries in $(pwd)/bin are up to date"
		return 0
	fi
	rm -f bin/.stamp-istio
	mkdir -p bin/istio
	local out
	out=$(pwd)/bin

	echo "kubebin: building ${istio_bins[*]} (about 10 minutes cold on 2 cores)"
	(cd istio && go build -buildvcs=false -ldflags "-s -w" -o "$out/" \
		istio.io/istio/pilot/cmd/pilot-discovery ./istiodconfig)
	bin/istiodconfig -o bin/istio/configmaps.yaml

	echo "$want" >bin/.stamp-istio
	echo "kubebin: istio binaries built in $((SECONDS - start))s"
}

case ${KUBEBIN_ONLY:-} in
"") build_kube && build_istio ;;
kube) build_kube ;;
istio) build_istio ;;
*)
	echo "kubebin: KUBEBIN_ONLY must be kube or istio, not ${KUBEBIN_ONLY}" >&2
	exit 2
	;;
esac
