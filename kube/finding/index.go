package finding

// Tally counts findings by severity and remembers the worst, so a row, a
// namespace or the whole cluster can be marked without listing them.
type Tally struct {
	Errors, Warnings, Infos int
}

// Add counts one finding of severity s.
func (t *Tally) Add(s Severity) {
	switch {
	case s >= Error:
		t.Errors++
	case s == Warning:
		t.Warnings++
	default:
		t.Infos++
	}
}

// Merge adds every count of o.
func (t *Tally) Merge(o Tally) {
	t.Errors += o.Errors
	t.Warnings += o.Warnings
	t.Infos += o.Infos
}

// Total is how many findings were counted.
func (t Tally) Total() int { return t.Errors + t.Warnings + t.Infos }

// Worst returns the most severe severity counted; ok is false when nothing
// was, so "no findings" is never mistaken for Info.
func (t Tally) Worst() (s Severity, ok bool) {
	switch {
	case t.Errors > 0:
		return Error, true
	case t.Warnings > 0:
		return Warning, true
	case t.Infos > 0:
		return Info, true
	}
	return Info, false
}

// Index answers "what is wrong with this object, this namespace, this
// cluster" in one lookup each. The zero value (and nil) is an empty index.
// An Index is immutable once built: snapshots share it across goroutines.
type Index struct {
	objects    map[Ref]Tally
	namespaces map[string]Tally
	all        Tally
}

// NewIndex indexes findings by the object they are about (and the objects
// they affect) and by namespace. A namespace's tally holds the findings
// about the Namespace itself and about or affecting every object in it;
// cluster-scoped objects other than namespaces count only in the total.
func NewIndex(fs []Finding) *Index {
	ix := &Index{objects: make(map[Ref]Tally, len(fs)), namespaces: map[string]Tally{}}
	var seen map[Ref]bool
	var nsSeen map[string]bool
	for _, f := range fs {
		ix.add(f.Object, f.Severity)
		ns := namespaceOf(f.Object)
		ix.addNamespace(ns, f.Severity)
		if len(f.Affects) > 0 {
			// One finding counts once per object and per namespace, however
			// often it names them.
			clear(seen)
			clear(nsSeen)
			if seen == nil {
				seen, nsSeen = map[Ref]bool{}, map[string]bool{}
			}
			seen[f.Object], nsSeen[ns] = true, true
			for _, r := range f.Affects {
				if !seen[r] {
					seen[r] = true
					ix.add(r, f.Severity)
				}
				if ns := namespaceOf(r); !nsSeen[ns] {
					nsSeen[ns] = true
					ix.addNamespace(ns, f.Severity)
				}
			}
		}
		ix.all.Add(f.Severity)
	}
	return ix
}

func (ix *Index) add(r Ref, s Severity) {
	t := ix.objects[r]
	t.Add(s)
	ix.objects[r] = t
}

func (ix *Index) addNamespace(ns string, s Severity) {
	if ns == "" {
		return
	}
	t := ix.namespaces[ns]
	t.Add(s)
	ix.namespaces[ns] = t
}

// namespaceOf is the namespace a finding belongs to: its object's, or the
// object itself when that is a Namespace.
func namespaceOf(r Ref) string {
	if r.Kind == "Namespace" && r.Namespace == "" {
		return r.Name
	}
	return r.Namespace
}

// Object returns the findings about exactly r.
func (ix *Index) Object(r Ref) Tally {
	if ix == nil {
		return Tally{}
	}
	return ix.objects[r]
}

// Namespace returns the findings about namespace ns and its objects.
func (ix *Index) Namespace(ns string) Tally {
	if ix == nil {
		return Tally{}
	}
	return ix.namespaces[ns]
}

// All returns the findings of the whole cluster.
func (ix *Index) All() Tally {
	if ix == nil {
		return Tally{}
	}
	return ix.all
}
