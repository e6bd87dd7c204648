package webhook

import (
	"encoding/json"
	"strings"
)

// ociPush is a pushed OCI artifact or chart: the repositories it names, as
// oci://host[:port]/path.
type ociPush struct {
	repositories []string
}

// ociGeneric is Flotilla's own form, for any registry or a CI step:
//
//	{"repository": "oci://registry.example.com/apps/web", "tag": "1.2.3"}
type ociGeneric struct {
	Repository string `json:"repository"`
	Tag        string `json:"tag"`
	Digest     string `json:"digest"`
}

// ociEnvelope is the notification envelope of the CNCF distribution
// registry (and of registries that copy it): one event per pushed manifest.
type ociEnvelope struct {
	Events []struct {
		Action string `json:"action"`
		Target struct {
			Repository string `json:"repository"`
		} `json:"target"`
		Request struct {
			Host string `json:"host"`
		} `json:"request"`
	} `json:"events"`
}

func parseOCI(body []byte) (*ociPush, error) {
	var probe map[string]json.RawMessage
	if err := decode(body, &probe); err != nil {
		return nil, err
	}
	p := &ociPush{}
	if _, ok := probe["events"]; ok {
		var env ociEnvelope
		if err := decode(body, &env); err != nil {
			return nil, err
		}
		for _, e := range env.Events {
			if e.Action != "push" || e.Request.Host == "" || e.Target.Repository == "" {
				continue
			}
			p.add("oci://" + e.Request.Host + "/" + e.Target.Repository)
		}
	} else {
		var g ociGeneric
		if err := decode(body, &g); err != nil {
			return nil, err
		}
		repo := g.Repository
		if !strings.HasPrefix(repo, "oci://") {
			repo = "oci://" + repo
		}
		if g.Repository != "" {
			p.add(repo)
		}
	}
	if len(p.repositories) == 0 {
		return nil, payloadError("no pushed repository (want {\"repository\": \"oci://host/path\"} or a registry's notification envelope with push events)")
	}
	return p, nil
}

func (p *ociPush) add(repo string) {
	if len(p.repositories) < maxRefs && !strings.ContainsAny(repo, " \t\r\n") {
		p.repositories = append(p.repositories, repo)
	}
}
