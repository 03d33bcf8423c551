package fetchspecs

import (
	"context"
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/iscmock/iscmock/internal/openapi"
)

// sections are the components sections a $ref's target can become, by kind, in output order.
var sections = []struct {
	kind openapi.Kind
	name string
}{
	{openapi.Schema, "schemas"}, {openapi.Response, "responses"}, {openapi.Parameter, "parameters"},
	{openapi.RequestBody, "requestBodies"}, {openapi.Header, "headers"}, {openapi.Example, "examples"},
	{openapi.Link, "links"}, {openapi.Callback, "callbacks"},
}

// bundler builds one version's document.
type bundler struct {
	ctx   context.Context
	f     *fetcher
	root  string
	comps map[string]*section
	// inlining holds the path items being inlined, to catch a cycle among them.
	inlining map[string]bool
	// chain holds the components being built whose body is itself only a $ref: meeting one again
	// before any real content is a cycle no document can express.
	chain map[string]bool
	nodes int
	tags  map[string]bool // tags of the kept operations
}

type section struct {
	names map[string]string // target (file#pointer) → component name
	taken map[string]bool
	order []string
	body  map[string]*yaml.Node
}

func bundle(ctx context.Context, f *fetcher, v Version) (*yaml.Node, error) {
	b := &bundler{ctx: ctx, f: f, root: v.Root, comps: map[string]*section{},
		inlining: map[string]bool{}, chain: map[string]bool{}, tags: map[string]bool{}}
	for _, s := range sections {
		b.comps[s.name] = &section{names: map[string]string{}, taken: map[string]bool{}, body: map[string]*yaml.Node{}}
	}
	root, err := f.get(ctx, v.Root)
	if err != nil {
		return nil, err
	}
	if root.Kind != yaml.MappingNode || member(root, "openapi") == nil {
		return nil, fmt.Errorf("%s: not an OpenAPI document", v.Root)
	}
	rootPaths := member(root, "paths")
	paths := mapping()
	for _, p := range v.Paths {
		item := member(rootPaths, p)
		if item == nil {
			return nil, fmt.Errorf("%s: no path %s", v.Root, p)
		}
		out, err := b.walk(item, openapi.PathItem, v.Root)
		if err != nil {
			return nil, err
		}
		paths.Content = append(paths.Content, str(p), out)
	}

	// The security schemes and root-level security, lent by another root if this one has none.
	schemes, security := member(member(root, "components"), "securitySchemes"), member(root, "security")
	if schemes == nil && v.SchemesFrom != "" {
		i := slices.IndexFunc(Versions, func(o Version) bool { return o.Name == v.SchemesFrom })
		lender, err := f.get(ctx, Versions[i].Root)
		if err != nil {
			return nil, err
		}
		schemes = member(member(lender, "components"), "securitySchemes")
		if security == nil {
			security = member(lender, "security")
		}
	}

	doc := mapping()
	add := func(key string, n *yaml.Node) error {
		if n == nil {
			return nil
		}
		c, err := b.copy(n)
		if err == nil {
			doc.Content = append(doc.Content, str(key), c)
		}
		return err
	}
	for _, k := range []string{"openapi", "info", "servers"} {
		if err := add(k, member(root, k)); err != nil {
			return nil, err
		}
	}
	if err := add("security", security); err != nil {
		return nil, err
	}
	if tags := member(root, "tags"); tags != nil && tags.Kind == yaml.SequenceNode {
		kept := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for _, t := range tags.Content {
			if name := member(t, "name"); name != nil && b.tags[name.Value] {
				kept.Content = append(kept.Content, t)
			}
		}
		if err := add("tags", kept); err != nil {
			return nil, err
		}
	}
	doc.Content = append(doc.Content, str("paths"), paths)
	comps := mapping()
	for _, s := range sections {
		sec := b.comps[s.name]
		if len(sec.order) == 0 {
			continue
		}
		m := mapping()
		for _, name := range sec.order {
			m.Content = append(m.Content, str(name), sec.body[name])
		}
		comps.Content = append(comps.Content, str(s.name), m)
	}
	if schemes != nil {
		c, err := b.copy(schemes)
		if err != nil {
			return nil, err
		}
		comps.Content = append(comps.Content, str("securitySchemes"), c)
	}
	if len(comps.Content) > 0 {
		doc.Content = append(doc.Content, str("components"), comps)
	}
	doc.HeadComment = fmt.Sprintf("The %s paths of %s/%s (sailpoint-oss/api-specs, MIT licence),\n"+
		"bundled by scripts/fetch-specs: do not edit.", strings.Join(v.Paths, " and "), f.base.Redacted(), v.Root)
	return &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{doc}}, nil
}

// walk copies a node of the given kind found in file, resolving the $refs it holds.
func (b *bundler) walk(n *yaml.Node, k openapi.Kind, file string) (*yaml.Node, error) {
	n = unalias(n)
	if k == openapi.Literal || n.Kind != yaml.MappingNode {
		return b.copy(n)
	}
	if ref, err := refOf(n); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	} else if ref != "" {
		return b.ref(n, ref, k, file)
	}
	if err := b.count(); err != nil {
		return nil, err
	}
	out := &yaml.Node{Kind: yaml.MappingNode, Tag: n.Tag, Style: n.Style}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := unalias(n.Content[i]), n.Content[i+1]
		f, ok := openapi.Members[k][key.Value]
		if k == openapi.Callback { // expression → path item
			f, ok = openapi.Member{Kind: openapi.PathItem, Shape: openapi.One}, true
		}
		var v *yaml.Node
		var err error
		switch {
		case !ok:
			v, err = b.copy(val)
		case f.Shape == openapi.One:
			v, err = b.walk(val, f.Kind, file)
		default:
			v, err = b.each(val, f, file)
		}
		if err != nil {
			return nil, err
		}
		if k == openapi.Operation && key.Value == "tags" {
			for _, t := range unalias(val).Content {
				b.tags[unalias(t).Value] = true
			}
		}
		kc, err := b.copy(key)
		if err != nil {
			return nil, err
		}
		out.Content = append(out.Content, kc, v)
	}
	return out, nil
}

// each walks a map's values or a list's items; a map's extensions (x-...) stay data.
func (b *bundler) each(n *yaml.Node, f openapi.Member, file string) (*yaml.Node, error) {
	n = unalias(n)
	want := yaml.MappingNode
	if f.Shape == openapi.ListOf {
		want = yaml.SequenceNode
	}
	if n.Kind != want {
		return b.copy(n) // not OpenAPI's shape: kin-openapi will say so
	}
	out := &yaml.Node{Kind: n.Kind, Tag: n.Tag, Style: n.Style}
	for i := 0; i < len(n.Content); i++ {
		if f.Shape == openapi.MapOf {
			key := unalias(n.Content[i])
			kc, err := b.copy(key)
			if err != nil {
				return nil, err
			}
			out.Content = append(out.Content, kc)
			i++
			if f.Kind == openapi.Response && strings.HasPrefix(key.Value, "x-") {
				v, err := b.copy(n.Content[i])
				if err != nil {
					return nil, err
				}
				out.Content = append(out.Content, v)
				continue
			}
		}
		v, err := b.walk(n.Content[i], f.Kind, file)
		if err != nil {
			return nil, err
		}
		out.Content = append(out.Content, v)
	}
	return out, nil
}

// ref resolves the $ref of node n (of kind k, in file): a path item's target is inlined (OpenAPI 3.0
// has no path item components); any other target becomes a component, once, and n a local ref to it
// (members beside the $ref stay beside it: OpenAPI 3.0 ignores them, kin-openapi allows them).
func (b *bundler) ref(n *yaml.Node, ref string, k openapi.Kind, file string) (*yaml.Node, error) {
	fail := func(err error) error { return fmt.Errorf("%s: $ref %q: %w", file, ref, err) }
	var secName string
	for _, s := range sections {
		if s.kind == k {
			secName = s.name
		}
	}
	if secName == "" && k != openapi.PathItem {
		return nil, fail(errors.New("OpenAPI allows no $ref here"))
	}
	if k == openapi.PathItem && len(n.Content) > 2 {
		return nil, fail(errors.New("members beside a path item's $ref are not supported"))
	}
	target, pointer, err := b.f.resolve(file, ref)
	if err != nil {
		return nil, fail(err)
	}
	if target == "" {
		target = file
	}
	doc, err := b.f.get(b.ctx, target)
	if err != nil {
		return nil, fail(err)
	}
	body := lookup(doc, pointer)
	if body == nil && target != b.root && strings.HasPrefix(ref, "#/components/") {
		// A split file's "#/components/..." means the root document's.
		root, err := b.f.get(b.ctx, b.root)
		if err != nil {
			return nil, fail(err)
		}
		if body = lookup(root, pointer); body != nil {
			target = b.root
		}
	}
	if body == nil {
		return nil, fail(fmt.Errorf("%s has no %q", target, pointer))
	}
	key := target + "#" + pointer

	if secName == "" {
		if b.inlining[key] {
			return nil, fail(errors.New("ref cycle: the path item includes itself"))
		}
		b.inlining[key] = true
		defer delete(b.inlining, key)
		return b.walk(body, k, target)
	}

	sec := b.comps[secName]
	name, done := sec.names[key]
	if done {
		if b.chain[key] {
			return nil, fail(fmt.Errorf("ref cycle: %s is only a $ref that leads back to itself", key))
		}
	} else {
		name = sec.claim(key, componentName(target, pointer))
		bare, err := refOf(body)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", target, err)
		}
		saved := b.chain
		if bare != "" {
			b.chain[key] = true
		} else {
			b.chain = map[string]bool{}
		}
		out, err := b.walk(body, k, target)
		b.chain = saved
		delete(b.chain, key)
		if err != nil {
			return nil, err
		}
		sec.body[name] = out
	}

	out := mapping(str("$ref"), str("#/components/"+secName+"/"+name))
	if len(n.Content) > 2 {
		rest := &yaml.Node{Kind: yaml.MappingNode}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if unalias(n.Content[i]).Value != "$ref" {
				rest.Content = append(rest.Content, n.Content[i], n.Content[i+1])
			}
		}
		siblings, err := b.walk(rest, k, file)
		if err != nil {
			return nil, err
		}
		out.Content = append(out.Content, siblings.Content...)
	}
	return out, nil
}

// refOf is a mapping's $ref, or "".
func refOf(n *yaml.Node) (string, error) {
	n = unalias(n)
	if n.Kind != yaml.MappingNode {
		return "", nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if unalias(n.Content[i]).Value == "$ref" {
			v := unalias(n.Content[i+1])
			if v.Kind != yaml.ScalarNode || v.Value == "" {
				return "", fmt.Errorf("line %d: $ref is not a string", v.Line)
			}
			return v.Value, nil
		}
	}
	return "", nil
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]`)

// componentName names a target after its file ("../schemas/PatOwner.yaml" → PatOwner) or, for a
// pointer into a file, after the pointer's last token ("common.yaml#/Scopes" → Scopes).
func componentName(file, pointer string) string {
	name := strings.TrimSuffix(path.Base(file), path.Ext(file))
	if i := strings.LastIndex(pointer, "/"); i >= 0 && i+1 < len(pointer) {
		name = strings.ReplaceAll(strings.ReplaceAll(pointer[i+1:], "~1", "/"), "~0", "~")
	}
	if name = unsafeName.ReplaceAllString(name, "_"); name == "" {
		name = "_"
	}
	return name
}

// claim gives key a name not yet taken in the section: the wanted one, else with a suffix _2, _3...
func (s *section) claim(key, want string) string {
	name := want
	for i := 2; s.taken[name]; i++ {
		name = fmt.Sprintf("%s_%d", want, i)
	}
	s.taken[name] = true
	s.names[key] = name
	s.order = append(s.order, name)
	return name
}

// copy deep-copies data, expanding aliases and dropping anchors and comments, within the node budget.
func (b *bundler) copy(n *yaml.Node) (*yaml.Node, error) {
	n = unalias(n)
	if err := b.count(); err != nil {
		return nil, err
	}
	out := &yaml.Node{Kind: n.Kind, Tag: n.Tag, Style: n.Style, Value: n.Value}
	if len(n.Content) > 0 {
		out.Content = make([]*yaml.Node, len(n.Content))
		for i, c := range n.Content {
			var err error
			if out.Content[i], err = b.copy(c); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

func (b *bundler) count() error {
	if b.nodes++; b.nodes > maxNodes {
		return fmt.Errorf("the document grows past %d YAML nodes (aliases or refs expanding without bound?)", maxNodes)
	}
	return b.ctx.Err()
}

func mapping(kv ...*yaml.Node) *yaml.Node {
	return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: kv}
}

func str(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }
