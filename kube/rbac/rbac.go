// Package rbac holds the RBAC manifests ambx ships: ambx-auditor, which
// may read what ambx reads, and ambx-operator, which may also make the
// writes ambx's keys make. The YAML files beside this one are what users
// apply; the package embeds them so tests check and apply the very files.
package rbac

import (
	"bufio"
	"bytes"
	_ "embed"
	"fmt"
	"io"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"
)

// AuditorYAML and OperatorYAML are the manifests as shipped.
var (
	//go:embed auditor.yaml
	AuditorYAML []byte
	//go:embed operator.yaml
	OperatorYAML []byte
)

// Objects decodes a manifest into its ClusterRole and ClusterRoleBinding.
func Objects(manifest []byte) (*rbacv1.ClusterRole, *rbacv1.ClusterRoleBinding, error) {
	dec := serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict).UniversalDeserializer()
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(manifest)))
	var role *rbacv1.ClusterRole
	var binding *rbacv1.ClusterRoleBinding
	for {
		doc, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, err
		}
		obj, _, err := dec.Decode(doc, nil, nil)
		if err != nil {
			return nil, nil, err
		}
		switch x := obj.(type) {
		case *rbacv1.ClusterRole:
			role = x
		case *rbacv1.ClusterRoleBinding:
			binding = x
		default:
			return nil, nil, fmt.Errorf("unexpected %T in an RBAC manifest", obj)
		}
	}
	if role == nil || binding == nil {
		return nil, nil, fmt.Errorf("an RBAC manifest needs a ClusterRole and a ClusterRoleBinding")
	}
	return role, binding, nil
}
