#!/usr/bin/env bash
# Builds the control-plane binaries the cluster tests run (kube/kubeenv) from
# the modules pinned in this directory's go.sum, so CI needs nothing but the Go
# module proxy. Output: bin/{etcd,kube-apiserver,kwok,metrics-server} and
# bin/kwok-config/{stages,crds}. A no-op when bin/ was built from the same
# go.sum, build.sh and Go toolchain.
set -euo pipefail
cd "$(dirname "$0")"

# The version must match the k8s.io/kubernetes require in go.mod; without it
# the server reports v0.0.0-master+$Format:%H$ to every client.
KUBE_VERSION=v1.36.3

stamp() {
	{ cat go.mod go.sum build.sh; go version; } | sha256sum | cut -d' ' -f1
}

want=$(stamp)
if [[ -f bin/.stamp && "$(cat bin/.stamp)" == "$want" ]] &&
	[[ -x bin/etcd && -x bin/kube-apiserver && -x bin/kwok && -x bin/metrics-server ]]; then
	echo "kubebin: binaries in $(pwd)/bin are up to date"
	exit 0
fi

start=$SECONDS
rm -f bin/.stamp
mkdir -p bin

major_minor=${KUBE_VERSION#v}
major=${major_minor%%.*}
minor=${major_minor#*.}
minor=${minor%%.*}
ldflags="-s -w"
ldflags+=" -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION"
ldflags+=" -X k8s.io/component-base/version.gitMajor=$major"
ldflags+=" -X k8s.io/component-base/version.gitMinor=$minor"
ldflags+=" -X k8s.io/component-base/version.gitTreeState=clean"

echo "kubebin: building etcd, kube-apiserver, kwok, metrics-server (about 7 minutes cold on 2 cores)"
# etcd's module root is its main package, so go build names it "server".
go build -buildvcs=false -ldflags "$ldflags" -o bin/ \
	k8s.io/kubernetes/cmd/kube-apiserver \
	go.etcd.io/etcd/server/v3 \
	sigs.k8s.io/kwok/cmd/kwok \
	sigs.k8s.io/metrics-server/cmd/metrics-server
mv -f bin/server bin/etcd

# kwok ships its stages and CRDs as YAML inside its module; the harness reads
# them from here so their version always matches the kwok binary.
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

echo "$want" >bin/.stamp
echo "kubebin: built in $((SECONDS - start))s into $(pwd)/bin"
