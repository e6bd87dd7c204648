package notify

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
)

// chat posts to a Slack or Microsoft Teams incoming webhook, whose address
// is the credential.
type chat struct {
	url   *url.URL
	teams bool
}

// Slack's incoming webhook body: a text, with a colored attachment
// holding the event's fields.
type slackPayload struct {
	Text        string            `json:"text"`
	Attachments []slackAttachment `json:"attachments,omitempty"`
}

type slackAttachment struct {
	Color  string       `json:"color"`
	Fields []slackField `json:"fields"`
}

type slackField struct {
	Title string `json:"title"`
	Value string `json:"value"`
	Short bool   `json:"short"`
}

// Teams' incoming webhook (Workflows) body: a message with one Adaptive
// Card.
type teamsPayload struct {
	Type        string            `json:"type"`
	Attachments []teamsAttachment `json:"attachments"`
}

type teamsAttachment struct {
	ContentType string    `json:"contentType"`
	Content     teamsCard `json:"content"`
}

type teamsCard struct {
	Schema  string       `json:"$schema"`
	Type    string       `json:"type"`
	Version string       `json:"version"`
	Body    []teamsBlock `json:"body"`
}

type teamsBlock struct {
	Type   string      `json:"type"`
	Text   string      `json:"text,omitempty"`
	Weight string      `json:"weight,omitempty"`
	Color  string      `json:"color,omitempty"`
	Wrap   bool        `json:"wrap,omitempty"`
	Facts  []teamsFact `json:"facts,omitempty"`
}

type teamsFact struct {
	Title string `json:"title"`
	Value string `json:"value"`
}

func (c *chat) send(ctx context.Context, client *http.Client, m Message) error {
	var body []byte
	var err error
	if c.teams {
		body, err = json.Marshal(teamsMessage(m))
	} else {
		body, err = json.Marshal(slackMessage(m))
	}
	if err != nil {
		return err
	}
	return post(ctx, client, c.url, body, nil)
}

// facts are the event's fields that are set, in a fixed order.
func facts(ev Event) [][2]string {
	var out [][2]string
	for _, f := range [][2]string{
		{"Project", ev.Project}, {"Fleet", ev.Fleet}, {"Application", ev.Application},
		{"Cluster", ev.Cluster}, {"Object", ev.Object}, {"Revision", ev.Revision},
	} {
		if f[1] != "" {
			out = append(out, f)
		}
	}
	return out
}

func title(ev Event) string {
	t := ev.Name
	if s := ev.Subject(); s != "" {
		t += " " + s
	}
	return t
}

func slackMessage(m Message) slackPayload {
	color := map[string]string{"info": "good", "warning": "warning", "error": "danger"}[m.Event.Severity]
	att := slackAttachment{Color: color}
	for _, f := range facts(m.Event) {
		att.Fields = append(att.Fields, slackField{Title: f[0], Value: f[1], Short: len(f[1]) < 40})
	}
	return slackPayload{Text: "*" + title(m.Event) + "*\n" + m.Text, Attachments: []slackAttachment{att}}
}

func teamsMessage(m Message) teamsPayload {
	color := map[string]string{"info": "Good", "warning": "Warning", "error": "Attention"}[m.Event.Severity]
	body := []teamsBlock{
		{Type: "TextBlock", Text: title(m.Event), Weight: "Bolder", Color: color, Wrap: true},
		{Type: "TextBlock", Text: m.Text, Wrap: true},
	}
	if fs := facts(m.Event); len(fs) > 0 {
		set := teamsBlock{Type: "FactSet"}
		for _, f := range fs {
			set.Facts = append(set.Facts, teamsFact{Title: f[0], Value: f[1]})
		}
		body = append(body, set)
	}
	return teamsPayload{Type: "message", Attachments: []teamsAttachment{{
		ContentType: "application/vnd.microsoft.card.adaptive",
		Content: teamsCard{
			Schema: "http://adaptivecards.io/schemas/adaptive-card.json", Type: "AdaptiveCard", Version: "1.4", Body: body,
		},
	}}}
}
