// Package filter parses ISC's standard collection filter grammar and compiles the subset a collection
// supports into a Set the store can scan by index.
//
// Grammar (operators are lower case only; precedence not > and > or; parentheses override):
//
//	expr    = and { "or" and }
//	and     = unary { "and" unary }
//	unary   = "not" unary | primary
//	primary = "(" expr ")" | "pr" field | field ("isnull" | "pr")
//	        | field ("eq"|"ne"|"gt"|"ge"|"lt"|"le"|"co"|"sw") value
//	        | field ("in"|"ca") "(" value { "," value } ")"
//	value   = quoted string | unquoted word (number, boolean, date-time)
package filter

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Expr is a parsed filter expression: a *Compare, *Unary, *Not or *Binary.
type Expr interface{ expr() }

// Compare is a field compared with one value (eq ... sw) or a list of values (in, ca).
type Compare struct {
	Pos    int
	Field  string
	Op     string
	Values []Value
}

// Unary is a field tested for presence (pr) or absence (isnull).
type Unary struct {
	Pos   int
	Field string
	Op    string
}

// Not negates X.
type Not struct{ X Expr }

// Binary joins two expressions with "and" or "or".
type Binary struct {
	Op   string
	L, R Expr
}

// Value is a literal; Quoted tells strings from unquoted words such as dates.
type Value struct {
	Pos    int
	Text   string
	Quoted bool
}

func (*Compare) expr() {}
func (*Unary) expr()   {}
func (*Not) expr()     {}
func (*Binary) expr()  {}

// SyntaxError is a filter that does not parse; Pos is the 1-based character position.
type SyntaxError struct {
	Pos int
	Msg string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid filter at position %d: %s", e.Pos, e.Msg)
}

var (
	valueOps = map[string]bool{"eq": true, "ne": true, "gt": true, "ge": true, "lt": true, "le": true, "co": true, "sw": true}
	listOps  = map[string]bool{"in": true, "ca": true}
	postOps  = map[string]bool{"isnull": true, "pr": true}
	keywords = map[string]bool{"and": true, "or": true, "not": true}
)

// MaxLength bounds the filter text so a hostile query cannot make the parser recurse without limit.
const MaxLength = 4096

// Parse parses a filter expression.
func Parse(s string) (Expr, error) {
	if len(s) > MaxLength {
		return nil, &SyntaxError{Pos: MaxLength + 1, Msg: fmt.Sprintf("filter longer than %d characters", MaxLength)}
	}
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	e, err := p.expr()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, &SyntaxError{Pos: t.pos, Msg: fmt.Sprintf("unexpected %s", t)}
	}
	return e, nil
}

type tokKind int

const (
	tEOF tokKind = iota
	tWord
	tString
	tLParen
	tRParen
	tComma
)

type token struct {
	kind tokKind
	text string
	pos  int
}

func (t token) String() string {
	switch t.kind {
	case tEOF:
		return "end of filter"
	case tString:
		return fmt.Sprintf("string %q", t.text)
	}
	return fmt.Sprintf("%q", t.text)
}

func lex(s string) ([]token, error) {
	var toks []token
	pos := 1 // character position, 1-based
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return nil, &SyntaxError{Pos: pos, Msg: "invalid UTF-8"}
		}
		switch {
		case unicode.IsSpace(r):
			i += size
			pos++
		case r == '(' || r == ')' || r == ',':
			kind := map[rune]tokKind{'(': tLParen, ')': tRParen, ',': tComma}[r]
			toks = append(toks, token{kind, string(r), pos})
			i++
			pos++
		case r == '"':
			start := pos
			var b strings.Builder
			i++
			pos++
			closed := false
			for i < len(s) {
				c, n := utf8.DecodeRuneInString(s[i:])
				if c == utf8.RuneError && n == 1 {
					return nil, &SyntaxError{Pos: pos, Msg: "invalid UTF-8"}
				}
				i += n
				pos++
				if c == '"' {
					closed = true
					break
				}
				if c == '\\' {
					if i >= len(s) {
						break
					}
					e, m := utf8.DecodeRuneInString(s[i:])
					if e != '"' && e != '\\' {
						return nil, &SyntaxError{Pos: pos - 1, Msg: fmt.Sprintf("invalid escape \\%c in string", e)}
					}
					i += m
					pos++
					c = e
				}
				b.WriteRune(c)
			}
			if !closed {
				return nil, &SyntaxError{Pos: start, Msg: "unterminated string"}
			}
			toks = append(toks, token{tString, b.String(), start})
		default:
			start, j := pos, i
			for j < len(s) {
				c, n := utf8.DecodeRuneInString(s[j:])
				if unicode.IsSpace(c) || c == '(' || c == ')' || c == ',' || c == '"' {
					break
				}
				j += n
				pos++
			}
			toks = append(toks, token{tWord, s[i:j], start})
			i = j
		}
	}
	return append(toks, token{kind: tEOF, pos: pos}), nil
}

type parser struct {
	toks  []token
	i     int
	depth int
}

// maxDepth bounds nesting of parentheses and "not".
const maxDepth = 64

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token { t := p.toks[p.i]; p.i++; return t }

func (p *parser) isWord(w string) bool {
	t := p.peek()
	return t.kind == tWord && t.text == w
}

func (p *parser) expr() (Expr, error) {
	return p.binary("or", p.and)
}

func (p *parser) and() (Expr, error) {
	return p.binary("and", p.unary)
}

func (p *parser) binary(op string, operand func() (Expr, error)) (Expr, error) {
	l, err := operand()
	if err != nil {
		return nil, err
	}
	for p.isWord(op) {
		p.next()
		r, err := operand()
		if err != nil {
			return nil, err
		}
		l = &Binary{Op: op, L: l, R: r}
	}
	return l, nil
}

func (p *parser) enter(pos int) error {
	p.depth++
	if p.depth > maxDepth {
		return &SyntaxError{Pos: pos, Msg: fmt.Sprintf("expression nested deeper than %d", maxDepth)}
	}
	return nil
}

func (p *parser) unary() (Expr, error) {
	if p.isWord("not") {
		t := p.next()
		if err := p.enter(t.pos); err != nil {
			return nil, err
		}
		x, err := p.unary()
		p.depth--
		if err != nil {
			return nil, err
		}
		return &Not{X: x}, nil
	}
	return p.primary()
}

func (p *parser) primary() (Expr, error) {
	t := p.next()
	switch {
	case t.kind == tLParen:
		if err := p.enter(t.pos); err != nil {
			return nil, err
		}
		e, err := p.expr()
		p.depth--
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tRParen {
			return nil, &SyntaxError{Pos: c.pos, Msg: fmt.Sprintf("expected ')' but found %s", c)}
		}
		return e, nil
	case t.kind == tWord && t.text == "pr":
		f, err := p.field()
		if err != nil {
			return nil, err
		}
		return &Unary{Pos: t.pos, Field: f.text, Op: "pr"}, nil
	case t.kind == tWord && !keywords[t.text]:
		return p.predicate(t)
	}
	return nil, &SyntaxError{Pos: t.pos, Msg: fmt.Sprintf("expected a field name but found %s", t)}
}

func (p *parser) field() (token, error) {
	t := p.next()
	if t.kind != tWord || keywords[t.text] {
		return t, &SyntaxError{Pos: t.pos, Msg: fmt.Sprintf("expected a field name but found %s", t)}
	}
	return t, nil
}

func (p *parser) predicate(field token) (Expr, error) {
	op := p.next()
	if op.kind != tWord {
		return nil, &SyntaxError{Pos: op.pos, Msg: fmt.Sprintf("expected an operator after %q but found %s", field.text, op)}
	}
	switch {
	case postOps[op.text]:
		return &Unary{Pos: field.pos, Field: field.text, Op: op.text}, nil
	case valueOps[op.text]:
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		return &Compare{Pos: field.pos, Field: field.text, Op: op.text, Values: []Value{v}}, nil
	case listOps[op.text]:
		if t := p.next(); t.kind != tLParen {
			return nil, &SyntaxError{Pos: t.pos, Msg: fmt.Sprintf("expected '(' after %q but found %s", op.text, t)}
		}
		var vs []Value
		for {
			v, err := p.value()
			if err != nil {
				return nil, err
			}
			vs = append(vs, v)
			t := p.next()
			if t.kind == tRParen {
				break
			}
			if t.kind != tComma {
				return nil, &SyntaxError{Pos: t.pos, Msg: fmt.Sprintf("expected ',' or ')' but found %s", t)}
			}
		}
		return &Compare{Pos: field.pos, Field: field.text, Op: op.text, Values: vs}, nil
	}
	msg := fmt.Sprintf("unknown operator %q", op.text)
	if lower := strings.ToLower(op.text); lower != op.text && (valueOps[lower] || listOps[lower] || postOps[lower]) {
		msg += " (operators are lower case)"
	}
	return nil, &SyntaxError{Pos: op.pos, Msg: msg}
}

func (p *parser) value() (Value, error) {
	t := p.next()
	switch t.kind {
	case tString:
		return Value{Pos: t.pos, Text: t.text, Quoted: true}, nil
	case tWord:
		return Value{Pos: t.pos, Text: t.text}, nil
	}
	return Value{}, &SyntaxError{Pos: t.pos, Msg: fmt.Sprintf("expected a value but found %s", t)}
}
