package console

// message is one user-facing string in English and Korean.
type message struct{ en, ko string }

// messages are every user-facing string of the console, in one place.
// Keys are dotted: area.page.item. Format verbs (%d, %s) are filled by
// the code that uses the key. The Korean follows the AWS console's
// Korean labels where there is one, so the study notes' steps match.
var messages = map[string]message{
	// --- layout ---
	"app.name":             {"madang console", "madang 콘솔"},
	"nav.home":             {"Architecture", "아키텍처"},
	"nav.ec2":              {"EC2", "EC2"},
	"nav.instances":        {"Instances", "인스턴스"},
	"nav.launch":           {"Launch instances", "인스턴스 시작"},
	"nav.images":           {"AMIs", "AMI"},
	"nav.templates":        {"Launch templates", "시작 템플릿"},
	"nav.lb":               {"Load Balancing", "로드 밸런싱"},
	"nav.loadbalancers":    {"Load balancers", "로드 밸런서"},
	"nav.targetgroups":     {"Target groups", "대상 그룹"},
	"nav.autoscaling":      {"Auto Scaling", "Auto Scaling"},
	"nav.asgs":             {"Auto Scaling groups", "Auto Scaling 그룹"},
	"nav.cloudwatch":       {"CloudWatch", "CloudWatch"},
	"nav.dashboards":       {"Dashboards", "대시보드"},
	"nav.alarms":           {"Alarms", "경보"},
	"nav.metrics":          {"Metrics", "지표"},
	"nav.logs":             {"Log groups", "로그 그룹"},
	"nav.account":          {"Account", "계정"},
	"nav.security":         {"Security credentials", "보안 자격 증명"},
	"nav.menu":             {"Menu", "메뉴"},
	"layout.live":          {"live", "실시간"},
	"layout.reconnecting":  {"reconnecting…", "다시 연결 중…"},
	"layout.theme":         {"Dark or light", "어둡게 또는 밝게"},
	"layout.signout":       {"Sign out", "로그아웃"},
	"layout.language":      {"Language", "언어"},
	"layout.skip":          {"Skip to content", "본문으로 건너뛰기"},
	"layout.events":        {"Recent events", "최근 이벤트"},
	"common.name":          {"Name", "이름"},
	"common.state":         {"State", "상태"},
	"common.owner":         {"Owner", "소유자"},
	"common.byhand":        {"made by hand", "직접 생성"},
	"common.created":       {"Created", "생성 시간"},
	"common.actions":       {"Actions", "작업"},
	"common.tags":          {"Tags", "태그"},
	"common.none":          {"None", "없음"},
	"common.cancel":        {"Cancel", "취소"},
	"common.save":          {"Save", "저장"},
	"common.create":        {"Create", "생성"},
	"common.delete":        {"Delete", "삭제"},
	"common.filter":        {"Filter", "필터"},
	"common.details":       {"Details", "세부 정보"},
	"common.refresh":       {"Refresh", "새로 고침"},
	"common.stackowned":    {"Managed by stack %s: the next `madang apply` of that stack undoes changes made here.", "스택 %s이(가) 관리합니다. 그 스택을 다시 `madang apply`하면 여기서 바꾼 내용이 되돌려집니다."},
	"time.secondsago":      {"%d s ago", "%d초 전"},
	"time.minutesago":      {"%d min ago", "%d분 전"},
	"time.hoursago":        {"%d h ago", "%d시간 전"},
	"error.title":          {"Something went wrong", "문제가 발생했습니다"},
	"error.notfound.title": {"Not found", "찾을 수 없음"},
	"error.notfound.body":  {"There is no console page at", "콘솔 페이지가 없습니다:"},
	"error.back":           {"Back to the architecture", "아키텍처로 돌아가기"},

	// --- sign-in and security ---
	"signin.title":           {"Sign in", "로그인"},
	"signin.user":            {"User name", "사용자 이름"},
	"signin.password":        {"Password", "암호"},
	"signin.submit":          {"Sign in", "로그인"},
	"signin.linkhint":        {"No password yet? Run `madang console` on this machine for a one-time sign-in link.", "암호가 아직 없나요? 이 컴퓨터에서 `madang console`을 실행하면 일회용 로그인 링크가 나옵니다."},
	"signin.mfa.title":       {"Multi-factor authentication", "멀티 팩터 인증(MFA)"},
	"signin.mfa.code":        {"MFA code", "MFA 코드"},
	"signin.mfa.hint":        {"Enter the 6-digit code from your authenticator app.", "인증 앱에 표시된 6자리 코드를 입력하세요."},
	"signin.mfa.submit":      {"Verify", "확인"},
	"signin.linkused":        {"This sign-in link is unknown, expired or already used. Run `madang console` for a new one.", "이 로그인 링크는 알 수 없거나 만료되었거나 이미 사용되었습니다. `madang console`로 새 링크를 받으세요."},
	"signin.throttled":       {"Too many failed sign-ins. Try again in %s.", "로그인 실패가 너무 많습니다. %s 후에 다시 시도하세요."},
	"security.title":         {"Security credentials", "보안 자격 증명"},
	"security.password":      {"Console password", "콘솔 암호"},
	"security.current":       {"Current password", "현재 암호"},
	"security.new":           {"New password", "새 암호"},
	"security.newhint":       {"8 to 128 characters.", "8~128자."},
	"security.setpassword":   {"Set password", "암호 설정"},
	"security.passwordset":   {"Password changed.", "암호를 변경했습니다."},
	"security.mfa":           {"Multi-factor authentication (MFA)", "멀티 팩터 인증(MFA)"},
	"security.mfa.none":      {"No MFA device is assigned.", "할당된 MFA 디바이스가 없습니다."},
	"security.mfa.on":        {"An authenticator app is assigned; sign-in asks for its code.", "인증 앱이 할당되어 있습니다. 로그인할 때 코드를 묻습니다."},
	"security.mfa.assign":    {"Assign MFA device", "MFA 디바이스 할당"},
	"security.mfa.scan":      {"Scan the QR code with an authenticator app (Google Authenticator, …), or type the secret key.", "인증 앱(Google Authenticator 등)으로 QR 코드를 스캔하거나 보안 키를 입력하세요."},
	"security.mfa.secret":    {"Secret key", "보안 키"},
	"security.mfa.code1":     {"MFA code 1", "MFA 코드 1"},
	"security.mfa.code2":     {"MFA code 2", "MFA 코드 2"},
	"security.mfa.codeshint": {"Enter two consecutive codes: wait for the code to change before typing the second.", "연속된 두 코드를 입력하세요. 첫 코드를 입력한 뒤 코드가 바뀌면 두 번째를 입력합니다."},
	"security.mfa.confirm":   {"Add MFA", "MFA 추가"},
	"security.mfa.assigned":  {"MFA device assigned: sign-in now asks for a code.", "MFA 디바이스를 할당했습니다. 이제 로그인할 때 코드를 묻습니다."},
	"security.mfa.remove":    {"Remove MFA", "MFA 제거"},
	"security.mfa.removed":   {"MFA removed.", "MFA를 제거했습니다."},

	// --- architecture ---
	"home.title":  {"Architecture", "아키텍처"},
	"home.intro":  {"Load balancers, their target groups and the instances behind them, coloured by health; updated live.", "로드 밸런서와 대상 그룹, 그 뒤의 인스턴스를 상태별 색으로 보여줍니다. 실시간으로 바뀝니다."},
	"home.empty":  {"Nothing runs yet. Launch an instance, or `madang up -f madang.yaml`.", "아직 실행 중인 것이 없습니다. 인스턴스를 시작하거나 `madang up -f madang.yaml`을 실행하세요."},
	"home.counts": {"Resources", "리소스"},

	// --- ec2 ---

	// --- elb ---

	// --- autoscaling ---

	// --- cloudwatch ---
}
