package notify

import (
	"errors"
	"fmt"
	"slices"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

// ErrInvalidSpec says a Notification's spec cannot work, whatever happens.
var ErrInvalidSpec = errors.New("invalid Notification")

// Validate checks what can be checked of a Notification's spec without
// its Secret: known events, a template that compiles, a provider with what
// it needs. The error names each field at fault.
func Validate(spec flotillav1.NotificationSpec) error {
	var errs []error
	if len(spec.Events) == 0 {
		errs = append(errs, errors.New("spec.events: none"))
	}
	for i, e := range spec.Events {
		if !slices.Contains(EventNames, e) {
			errs = append(errs, fmt.Errorf("spec.events[%d]: unknown event %q", i, cut(e, 64)))
		}
	}
	if spec.Template != "" {
		if _, err := CompileTemplate(spec.Template); err != nil {
			errs = append(errs, fmt.Errorf("spec.template: %w", err))
		}
	}
	if err := validateProvider(spec.Provider); err != nil {
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrInvalidSpec, errors.Join(errs...))
}

func validateProvider(p flotillav1.NotificationProvider) error {
	hasSecret := p.SecretRef != nil && p.SecretRef.Name != ""
	switch p.Type {
	case flotillav1.ProviderWebhook, flotillav1.ProviderSlack, flotillav1.ProviderTeams, flotillav1.ProviderAlertmanager:
		if p.URL == "" && !hasSecret {
			return fmt.Errorf("spec.provider.url: %s needs a URL, or a Secret with %q", p.Type, SecretAddress)
		}
	case flotillav1.ProviderGitHub, flotillav1.ProviderGitLab, flotillav1.ProviderGitea:
		if !hasSecret {
			return fmt.Errorf("spec.provider.secretRef: %s needs a Secret with %q", p.Type, SecretToken)
		}
	default:
		return fmt.Errorf("spec.provider.type: unknown type %q", cut(p.Type, 32))
	}
	if p.URL != "" {
		allowQuery := p.Type == flotillav1.ProviderWebhook || p.Type == flotillav1.ProviderTeams
		if _, err := checkURL(p.URL, allowQuery); err != nil {
			return fmt.Errorf("spec.provider.url: %w", err)
		}
	}
	return nil
}
