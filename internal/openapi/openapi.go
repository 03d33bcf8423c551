// Package openapi knows the shape of an OpenAPI 3.0 document: what kind of object stands at each
// member. A walk over a document's YAML knows by it where a $ref may stand (scripts/fetch-specs
// bundles documents so) and what each member is (the conformance checker derives its wire contract
// so).
package openapi

// Kind is what an object of a document is, which its position tells.
type Kind int

const (
	Literal Kind = iota // data, not an OpenAPI object: examples' values, defaults, extensions
	Document
	PathItem
	Operation
	Parameter
	RequestBody
	Response
	Header
	MediaType
	Encoding
	Schema
	Example
	Link
	Callback // its members are path items, named by runtime expressions
	SecurityScheme
	OAuthFlow
)

// Shape is how a member holds objects of its kind.
type Shape int

const (
	One    Shape = iota
	MapOf        // names → objects
	ListOf       // a list of objects
)

// Member is what a member of an object holds.
type Member struct {
	Kind  Kind
	Shape Shape
}

// Members are, for each kind, its members that hold further objects; the others hold values.
var Members = func() map[Kind]map[string]Member {
	op := Member{Operation, One}
	paramLike := map[string]Member{"schema": {Schema, One}, "content": {MediaType, MapOf}, "examples": {Example, MapOf}}
	sub := Member{Schema, One}
	subs := Member{Schema, ListOf}
	return map[Kind]map[string]Member{
		Document: {"paths": {PathItem, MapOf}},
		PathItem: {"get": op, "put": op, "post": op, "delete": op, "options": op, "head": op, "patch": op, "trace": op,
			"parameters": {Parameter, ListOf}},
		Operation: {"parameters": {Parameter, ListOf}, "requestBody": {RequestBody, One},
			"responses": {Response, MapOf}, "callbacks": {Callback, MapOf}},
		Parameter:   paramLike,
		Header:      paramLike,
		RequestBody: {"content": {MediaType, MapOf}},
		Response:    {"headers": {Header, MapOf}, "content": {MediaType, MapOf}, "links": {Link, MapOf}},
		MediaType:   {"schema": sub, "examples": {Example, MapOf}, "encoding": {Encoding, MapOf}},
		Encoding:    {"headers": {Header, MapOf}},
		Schema: {"properties": {Schema, MapOf}, "items": sub, "not": sub, "additionalProperties": sub,
			"allOf": subs, "oneOf": subs, "anyOf": subs},
		SecurityScheme: {"flows": {OAuthFlow, MapOf}},
	}
}()
