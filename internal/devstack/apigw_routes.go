package devstack

// The API Gateway front's routes: API Gateway route syntax compiled into segments, and
// route selection (the most specific match wins, "$default" last).

import (
	"errors"
	"fmt"
	"strings"
)

type routeSegment struct {
	literal string
	param   string // {param} or, with greedy, {param+}
	greedy  bool
}

// rank orders segments by specificity: lower is more specific.
func (s routeSegment) rank() int {
	switch {
	case s.greedy:
		return 2
	case s.param != "":
		return 1
	}
	return 0
}

type apigwRoute struct {
	key      string // "GET /v1/reach", "ANY /{proxy+}" or "$default"
	method   string // "" for $default
	segs     []routeSegment
	deflt    bool
	function string
	iam      bool
}

var routeMethods = map[string]bool{
	"GET": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true,
	"HEAD": true, "OPTIONS": true, "ANY": true,
}

func compileRoutes(host *Host, routes []Route) ([]*apigwRoute, error) {
	if host == nil {
		return nil, errors.New("api gateway: nil Host")
	}
	out := make([]*apigwRoute, 0, len(routes))
	seen := make(map[string]bool, len(routes))
	for _, r := range routes {
		rt, err := compileRoute(r)
		if err != nil {
			return nil, err
		}
		if host.fns[rt.function] == nil {
			return nil, fmt.Errorf("api gateway: route %s: function %q is not on the Host", rt.key, r.Function)
		}
		if seen[rt.key] {
			return nil, fmt.Errorf("api gateway: route %s defined twice", rt.key)
		}
		seen[rt.key] = true
		out = append(out, rt)
	}
	return out, nil
}

func compileRoute(r Route) (*apigwRoute, error) {
	rt := &apigwRoute{function: r.Function}
	switch r.Auth {
	case "", AuthNone:
	case AuthIAM:
		rt.iam = true
	default:
		return nil, fmt.Errorf("api gateway: route %s %s: unsupported authorization type %q", r.Method, r.Path, r.Auth)
	}
	if r.Path == routeKeyDefault {
		rt.key, rt.deflt = routeKeyDefault, true
		return rt, nil
	}
	rt.method = strings.ToUpper(r.Method)
	if !routeMethods[rt.method] {
		return nil, fmt.Errorf("api gateway: route %s %s: unsupported method %q", r.Method, r.Path, r.Method)
	}
	rt.key = rt.method + " " + r.Path
	if !strings.HasPrefix(r.Path, "/") {
		return nil, fmt.Errorf("api gateway: route %s: path must start with /", rt.key)
	}
	names := map[string]bool{}
	parts := strings.Split(r.Path[1:], "/")
	for i, p := range parts {
		if !strings.ContainsAny(p, "{}") {
			if p == "" && len(parts) > 1 {
				return nil, fmt.Errorf("api gateway: route %s: empty path segment", rt.key)
			}
			rt.segs = append(rt.segs, routeSegment{literal: p})
			continue
		}
		if !strings.HasPrefix(p, "{") || !strings.HasSuffix(p, "}") || strings.Count(p, "{") != 1 || strings.Count(p, "}") != 1 {
			return nil, fmt.Errorf("api gateway: route %s: a path variable must be a whole segment", rt.key)
		}
		name := p[1 : len(p)-1]
		seg := routeSegment{}
		if strings.HasSuffix(name, "+") {
			if i != len(parts)-1 {
				return nil, fmt.Errorf("api gateway: route %s: a greedy path variable must be the last segment", rt.key)
			}
			name, seg.greedy = strings.TrimSuffix(name, "+"), true
		}
		if name == "" || strings.ContainsAny(name, "+") {
			return nil, fmt.Errorf("api gateway: route %s: invalid path variable %q", rt.key, p)
		}
		if names[name] {
			return nil, fmt.Errorf("api gateway: route %s: path variable %q used twice", rt.key, name)
		}
		names[name] = true
		seg.param = name
		rt.segs = append(rt.segs, seg)
	}
	return rt, nil
}

// matchPath reports whether the path segments match rt, with the path parameters.
func (rt *apigwRoute) matchPath(segs []string) (map[string]string, bool) {
	var params map[string]string
	set := func(k, v string) {
		if params == nil {
			params = map[string]string{}
		}
		params[k] = v
	}
	for i, s := range rt.segs {
		if s.greedy {
			if i >= len(segs) {
				return nil, false
			}
			rest := strings.Join(segs[i:], "/")
			if rest == "" {
				return nil, false
			}
			set(s.param, rest)
			return params, true
		}
		if i >= len(segs) {
			return nil, false
		}
		if s.param != "" {
			if segs[i] == "" {
				return nil, false
			}
			set(s.param, segs[i])
			continue
		}
		if segs[i] != s.literal {
			return nil, false
		}
	}
	return params, len(segs) == len(rt.segs)
}

// moreSpecific reports whether route a takes precedence over b for a request both match.
func moreSpecific(a, b *apigwRoute) bool {
	if a.deflt != b.deflt {
		return b.deflt
	}
	for i := 0; i < len(a.segs) && i < len(b.segs); i++ {
		if ra, rb := a.segs[i].rank(), b.segs[i].rank(); ra != rb {
			return ra < rb
		}
	}
	if len(a.segs) != len(b.segs) {
		return len(a.segs) > len(b.segs)
	}
	return a.method != "ANY" && b.method == "ANY"
}

func (g *APIGateway) match(method, path string) (*apigwRoute, map[string]string) {
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	segs := strings.Split(path[1:], "/")
	var best *apigwRoute
	var bestParams map[string]string
	for _, rt := range g.routes {
		var params map[string]string
		if !rt.deflt {
			if rt.method != "ANY" && rt.method != method {
				continue
			}
			var ok bool
			if params, ok = rt.matchPath(segs); !ok {
				continue
			}
		}
		if best == nil || moreSpecific(rt, best) {
			best, bestParams = rt, params
		}
	}
	return best, bestParams
}
