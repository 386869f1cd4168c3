package cloudwatch

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/madang-dev/madang/internal/alarm"
	"github.com/madang-dev/madang/internal/autoscaling/policyref"
)

// ActionKind is what an alarm action does.
type ActionKind string

// Action kinds.
const (
	// ActionWebhook POSTs an SNS-style notification to an http(s) URL, as
	// an SNS topic's HTTP subscription would receive it.
	ActionWebhook ActionKind = "webhook"
	// ActionEC2 stops, terminates, reboots or recovers the instance named
	// by the alarm's InstanceId dimension
	// (arn:aws:automate:REGION:ec2:stop|terminate|reboot|recover).
	ActionEC2 ActionKind = "ec2"
	// ActionCommand runs a shell command with the notification on its
	// standard input ("command:CMD").
	ActionCommand ActionKind = "command"
	// ActionAutoScaling runs an Auto Scaling group's step or simple scaling
	// policy (arn:aws:autoscaling:…:scalingPolicy:ID:autoScalingGroupName/
	// GROUP:policyName/POLICY, or autoscaling:GROUP/POLICY). The group's
	// controller watches the alarm and runs the policy on each evaluation
	// while it is in ALARM, as CloudWatch invokes Auto Scaling every period.
	ActionAutoScaling ActionKind = "autoscaling"
)

const actionHelp = "use an http(s) URL (an SNS-style webhook), arn:aws:automate:local:ec2:stop|terminate|reboot|recover, a scaling policy (its ARN, or autoscaling:GROUP/POLICY), or command:SHELL-COMMAND"

// Action is a parsed alarm action.
type Action struct {
	Kind ActionKind
	// Raw is the action as written.
	Raw string
	// EC2 is stop, terminate, reboot or recover.
	EC2 string
	// URL is the webhook's address.
	URL string
	// Command is the shell command.
	Command string
	// Group and Policy name an Auto Scaling policy.
	Group, Policy string
}

// ParseAction parses an alarm action.
func ParseAction(s string) (Action, error) {
	a := Action{Raw: s}
	switch {
	case strings.HasPrefix(s, "http://"), strings.HasPrefix(s, "https://"):
		u, err := url.Parse(s)
		if err != nil || u.Host == "" {
			return a, fmt.Errorf("is not a valid URL")
		}
		a.Kind, a.URL = ActionWebhook, s
	case strings.HasPrefix(s, "command:"):
		a.Kind, a.Command = ActionCommand, strings.TrimSpace(strings.TrimPrefix(s, "command:"))
		if a.Command == "" {
			return a, fmt.Errorf("has an empty command")
		}
	case strings.HasPrefix(s, "arn:aws:automate:"):
		parts := strings.Split(s, ":")
		if len(parts) != 6 || parts[4] != "ec2" {
			return a, fmt.Errorf("is not an EC2 action ARN")
		}
		switch parts[5] {
		case "stop", "terminate", "reboot", "recover":
			a.Kind, a.EC2 = ActionEC2, parts[5]
		default:
			return a, fmt.Errorf("names EC2 action %q", parts[5])
		}
	case policyref.IsPolicy(s):
		g, p, err := policyref.Parse(s)
		if err != nil {
			return a, err
		}
		a.Kind, a.Group, a.Policy = ActionAutoScaling, g, p
	case strings.HasPrefix(s, "arn:aws:sns:"):
		return a, fmt.Errorf("is an SNS topic, which madang does not have; give the subscriber's URL instead")
	default:
		return a, fmt.Errorf("is not an action madang knows")
	}
	return a, nil
}

// EC2Actions are the instance actions alarms may take; *compute.Service
// implements them.
type EC2Actions interface {
	Stop(ctx context.Context, id string) error
	Start(ctx context.Context, id string) error
	Reboot(ctx context.Context, id string) error
	Terminate(ctx context.Context, id string) error
}

// Notification is what an alarm's actions receive on a state change: the
// message CloudWatch publishes to SNS for an alarm.
type Notification struct {
	AlarmName                          string      `json:"AlarmName"`
	AlarmDescription                   *string     `json:"AlarmDescription"`
	AWSAccountID                       string      `json:"AWSAccountId"`
	AlarmConfigurationUpdatedTimestamp string      `json:"AlarmConfigurationUpdatedTimestamp"`
	NewStateValue                      alarm.State `json:"NewStateValue"`
	NewStateReason                     string      `json:"NewStateReason"`
	StateChangeTime                    string      `json:"StateChangeTime"`
	Region                             string      `json:"Region"`
	AlarmARN                           string      `json:"AlarmArn"`
	OldStateValue                      alarm.State `json:"OldStateValue"`
	OKActions                          []string    `json:"OKActions"`
	AlarmActions                       []string    `json:"AlarmActions"`
	InsufficientDataActions            []string    `json:"InsufficientDataActions"`
	Trigger                            *Trigger    `json:"Trigger,omitempty"`
	AlarmRule                          string      `json:"AlarmRule,omitempty"`
}

// Trigger describes a metric alarm's metric in a notification.
type Trigger struct {
	MetricName                       string        `json:"MetricName,omitempty"`
	Namespace                        string        `json:"Namespace,omitempty"`
	StatisticType                    string        `json:"StatisticType,omitempty"`
	Statistic                        string        `json:"Statistic,omitempty"`
	ExtendedStatistic                string        `json:"ExtendedStatistic,omitempty"`
	Unit                             *string       `json:"Unit"`
	Dimensions                       []TriggerDim  `json:"Dimensions"`
	Metrics                          []MetricQuery `json:"Metrics,omitempty"`
	Period                           int           `json:"Period"`
	EvaluationPeriods                int           `json:"EvaluationPeriods"`
	DatapointsToAlarm                int           `json:"DatapointsToAlarm"`
	ComparisonOperator               string        `json:"ComparisonOperator"`
	Threshold                        float64       `json:"Threshold"`
	TreatMissingData                 string        `json:"TreatMissingData"`
	EvaluateLowSampleCountPercentile string        `json:"EvaluateLowSampleCountPercentile"`
}

// TriggerDim is a dimension in a notification's trigger (SNS's lowercase
// keys).
type TriggerDim struct {
	Value string `json:"value"`
	Name  string `json:"name"`
}

// snsEnvelope is an SNS HTTP(S) notification.
type snsEnvelope struct {
	Type             string `json:"Type"`
	MessageID        string `json:"MessageId"`
	TopicARN         string `json:"TopicArn"`
	Subject          string `json:"Subject"`
	Message          string `json:"Message"`
	Timestamp        string `json:"Timestamp"`
	SignatureVersion string `json:"SignatureVersion"`
	Signature        string `json:"Signature"`
	SigningCertURL   string `json:"SigningCertURL"`
	UnsubscribeURL   string `json:"UnsubscribeURL"`
}

// TopicARN is the SNS topic madang's webhook notifications name.
const TopicARN = "arn:aws:sns:" + Region + ":" + AccountID + ":madang-alarms"

// Region and AccountID are the region and account madang's ARNs name.
const (
	Region    = "local"
	AccountID = "000000000000"
)

// AlarmARN returns an alarm's ARN.
func AlarmARN(name string) string {
	return "arn:aws:cloudwatch:" + Region + ":" + AccountID + ":alarm:" + name
}

// executor runs alarm actions.
type executor struct {
	ec2    EC2Actions
	client *http.Client
	// retryDelay is the pause between webhook attempts.
	retryDelay time.Duration
}

// webhookAttempts is how many times a webhook is tried (SNS's HTTP
// delivery retries too; madang keeps it short).
const webhookAttempts = 3

// run executes one action for a notification and returns what happened,
// for the alarm's history.
func (x *executor) run(ctx context.Context, a Action, n Notification, dims map[string]string) error {
	msg, err := json.Marshal(n)
	if err != nil {
		return err
	}
	switch a.Kind {
	case ActionWebhook:
		return x.webhook(ctx, a.URL, n, msg)
	case ActionCommand:
		cmd := exec.CommandContext(ctx, "/bin/sh", "-c", a.Command)
		cmd.Stdin = bytes.NewReader(msg)
		cmd.Env = append(os.Environ(),
			"ALARM_NAME="+n.AlarmName, "ALARM_STATE="+string(n.NewStateValue),
			"ALARM_OLD_STATE="+string(n.OldStateValue), "ALARM_REASON="+n.NewStateReason)
		cmd.WaitDelay = time.Second
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("command %q: %w: %s", a.Command, err, strings.TrimSpace(lastLine(string(out))))
		}
		return nil
	case ActionAutoScaling:
		// The group's controller reads the alarm's state and runs the
		// policy (see ActionAutoScaling).
		return nil
	case ActionEC2:
		id := dims["InstanceId"]
		if id == "" {
			return errors.New("the alarm has no InstanceId dimension")
		}
		if x.ec2 == nil {
			return errors.New("no compute service")
		}
		switch a.EC2 {
		case "stop":
			return x.ec2.Stop(ctx, id)
		case "terminate":
			return x.ec2.Terminate(ctx, id)
		case "reboot":
			return x.ec2.Reboot(ctx, id)
		case "recover":
			// Recover moves an instance to healthy hardware keeping its id:
			// here the instance's shim and app are started afresh.
			if err := x.ec2.Stop(ctx, id); err != nil {
				return err
			}
			return x.ec2.Start(ctx, id)
		}
	}
	return fmt.Errorf("unknown action %q", a.Raw)
}

func (x *executor) webhook(ctx context.Context, u string, n Notification, msg []byte) error {
	id := newMessageID()
	env := snsEnvelope{
		Type: "Notification", MessageID: id, TopicARN: TopicARN,
		Subject:          truncate(fmt.Sprintf("%s: %q in %s", n.NewStateValue, n.AlarmName, Region), 100),
		Message:          string(msg),
		Timestamp:        time.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
		SignatureVersion: "1",
	}
	body, err := json.Marshal(env)
	if err != nil {
		return err
	}
	var last error
	for attempt := range webhookAttempts {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(x.retryDelay):
			}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "text/plain; charset=UTF-8")
		req.Header.Set("x-amz-sns-message-type", "Notification")
		req.Header.Set("x-amz-sns-message-id", id)
		req.Header.Set("x-amz-sns-topic-arn", TopicARN)
		req.Header.Set("User-Agent", "madang-sns")
		resp, err := x.client.Do(req)
		if err != nil {
			last = err
			continue
		}
		resp.Body.Close()
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			return nil
		}
		last = fmt.Errorf("%s answered %s", u, resp.Status)
	}
	return fmt.Errorf("webhook after %d attempts: %w", webhookAttempts, last)
}

func newMessageID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
