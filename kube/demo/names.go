package demo

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/fnv"

	"github.com/google/uuid"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/rand"
)

// The demo must render the same screens on every run, so everything a real
// cluster would randomise (UIDs, template hashes, pod suffixes, container IDs)
// is derived from the object's own name instead.

// uidNamespace scopes the name-based UUIDs so they cannot collide with
// another tool's name-based UUIDs for the same strings.
var uidNamespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://github.com/ambx/ambx/kube/demo"))

// uid returns a stable UID for an object of the given kind.
func uid(kind, namespace, name string) types.UID {
	return types.UID(uuid.NewSHA1(uidNamespace, []byte(kind+"/"+namespace+"/"+name)).String())
}

// templateHash is what the Deployment and DaemonSet controllers would put in
// pod-template-hash and controller-revision-hash: the safe encoding of a
// 32-bit hash, as in k8s.io/kubernetes/pkg/controller.ComputeHash.
func templateHash(seed string) string {
	h := fnv.New32a()
	h.Write([]byte(seed))
	return rand.SafeEncodeString(fmt.Sprint(h.Sum32()))
}

// podSuffix is the five-character suffix the API server's generateName adds.
func podSuffix(seed string) string {
	h := fnv.New64a()
	h.Write([]byte(seed))
	s := rand.SafeEncodeString(fmt.Sprint(h.Sum64()))
	return s[len(s)-5:]
}

// digest returns a stable 64-hex-digit digest, the shape of container and
// image IDs.
func digest(seed string) string {
	sum := sha256.Sum256([]byte(seed))
	return hex.EncodeToString(sum[:])
}
