package netpol

import (
	"bufio"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// sharedCases holds public NetworkPolicy cases with their expected
// verdicts, copied into the repository with each case's source and
// licence (testdata/cases/README.md), so the test needs nothing outside it.
const sharedCases = "testdata/cases"

type sharedCase struct {
	ID         string `json:"id"`
	Namespaces []struct {
		Name   string            `json:"name"`
		Labels map[string]string `json:"labels"`
	} `json:"namespaces"`
	Pods []struct {
		Namespace string                 `json:"namespace"`
		Name      string                 `json:"name"`
		Labels    map[string]string      `json:"labels"`
		Ports     []corev1.ContainerPort `json:"ports"`
	} `json:"pods"`
	Policies []networkingv1.NetworkPolicy `json:"policies"`
	Queries  []struct {
		From     casePeer        `json:"from"`
		To       casePeer        `json:"to"`
		Port     int32           `json:"port"`
		Protocol corev1.Protocol `json:"protocol"`
		Allowed  bool            `json:"allowed"`
		Evidence string          `json:"evidence"`
	} `json:"queries"`
}

type casePeer struct {
	Namespace string `json:"namespace"`
	Pod       string `json:"pod"`
	IP        string `json:"ip"`
}

func (p casePeer) peer(t *testing.T) Peer {
	if p.IP != "" {
		ip, err := netip.ParseAddr(p.IP)
		if err != nil {
			t.Fatalf("bad ip %q: %v", p.IP, err)
		}
		return IPPeer(ip)
	}
	return PodPeer(p.Namespace, p.Pod)
}

func (sc *sharedCase) cluster(t *testing.T) *Cluster {
	var nss []*corev1.Namespace
	for _, n := range sc.Namespaces {
		nss = append(nss, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n.Name, Labels: n.Labels}})
	}
	var pods []*corev1.Pod
	for _, p := range sc.Pods {
		pods = append(pods, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: p.Namespace, Name: p.Name, Labels: p.Labels},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Ports: p.Ports}}},
		})
	}
	var pols []*networkingv1.NetworkPolicy
	for i := range sc.Policies {
		pols = append(pols, &sc.Policies[i])
	}
	c, err := NewCluster(nss, pods, pols)
	if err != nil {
		t.Fatalf("%s: %v", sc.ID, err)
	}
	return c
}

func TestSharedCases(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(sharedCases, "*.jsonl"))
	if len(files) == 0 {
		t.Fatalf("no NetworkPolicy cases at %s", sharedCases)
	}
	total := 0
	for _, file := range files {
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			if len(sc.Bytes()) == 0 {
				continue
			}
			var tc sharedCase
			if err := json.Unmarshal(sc.Bytes(), &tc); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			t.Run(tc.ID, func(t *testing.T) {
				c := tc.cluster(t)
				for _, q := range tc.Queries {
					total++
					v, err := c.Evaluate(q.From.peer(t), q.To.peer(t), q.Port, q.Protocol)
					if err != nil {
						t.Fatalf("%v -> %v: %v", q.From, q.To, err)
					}
					if v.Allowed != q.Allowed {
						t.Errorf("%v -> %v %d/%s: allowed=%v, want %v (%s)\n  reason: %s",
							q.From, q.To, q.Port, q.Protocol, v.Allowed, q.Allowed, q.Evidence, v.Reason)
					}
				}
			})
		}
		f.Close()
	}
	if total < 100 {
		t.Errorf("only %d queries read; the shared files hold several hundred", total)
	}
}
