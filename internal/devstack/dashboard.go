package devstack

import (
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pthv/reach/internal/blob"
	"github.com/pthv/reach/internal/dashboard"
)

// startDashboard serves the dashboard as its CloudFront distribution does in AWS, from the
// published objects of the stack's reports bucket (dashboard.Local), accepting presigned staff
// links of the same principals as the local API Gateway.
func startDashboard(st *Stack, cfg aws.Config, principals map[string]IAMPrincipal) (*dashboard.Server, error) {
	ps := map[string]dashboard.Principal{}
	for key, p := range principals {
		if p.AccessKey != "" {
			key = p.AccessKey
		}
		// arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION or arn:aws:iam::ACCOUNT:role/ROLE
		role := ""
		if _, res, ok := strings.Cut(p.UserARN, ":assumed-role/"); ok {
			role, _, _ = strings.Cut(res, "/")
		} else if _, res, ok := strings.Cut(p.UserARN, ":role/"); ok {
			role = res
		}
		ps[key] = dashboard.Principal{SecretKey: p.SecretKey, Role: role}
	}
	return dashboard.StartServer(&dashboard.Local{S3: s3.NewFromConfig(cfg, blob.Options(cfg)), Bucket: st.Names.ReportsBucket,
		Endpoint: st.Endpoint, Region: Region, Principals: ps, RolePrefix: st.Names.Prefix})
}
