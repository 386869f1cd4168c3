package console

import "net/http"

// mountCloudWatch registers the CloudWatch pages: the chart series
// endpoint the other pages' charts read, the metrics explorer,
// dashboards, alarms and log groups.
func (s *Server) mountCloudWatch(mux *http.ServeMux) {
	mux.HandleFunc("GET /cloudwatch/series", s.serveSeries)
	mux.HandleFunc("GET /cloudwatch/metrics", s.metricsExplorer)

	mux.HandleFunc("GET /cloudwatch/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/cloudwatch/dashboards", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /cloudwatch/dashboards", s.dashboards)
	mux.HandleFunc("POST /cloudwatch/dashboards", s.createDashboard)
	mux.HandleFunc("GET /cloudwatch/dashboards/{name}", s.dashboardView)
	mux.HandleFunc("POST /cloudwatch/dashboards/{name}/delete", s.deleteDashboard)
	mux.HandleFunc("DELETE /cloudwatch/dashboards/{name}", s.deleteDashboard)
	mux.HandleFunc("POST /cloudwatch/dashboards/{name}/widgets", s.addWidget)
	mux.HandleFunc("GET /cloudwatch/dashboards/{name}/widgets/{i}", s.dashboardWidget)
	mux.HandleFunc("POST /cloudwatch/dashboards/{name}/widgets/{i}", s.arrangeWidget)

	mux.HandleFunc("GET /cloudwatch/alarms", s.alarms)
	mux.HandleFunc("GET /cloudwatch/alarms/new", s.newAlarm)
	mux.HandleFunc("POST /cloudwatch/alarms", s.createAlarm)
	mux.HandleFunc("GET /cloudwatch/alarms/{name}", s.alarmView)
	mux.HandleFunc("POST /cloudwatch/alarms/{name}/state", s.setAlarmState)
	mux.HandleFunc("POST /cloudwatch/alarms/{name}/delete", s.deleteAlarm)
	mux.HandleFunc("DELETE /cloudwatch/alarms/{name}", s.deleteAlarm)

	mux.HandleFunc("GET /cloudwatch/logs", s.logGroups)
	mux.HandleFunc("GET /cloudwatch/logs/stream", s.logTail)
	mux.HandleFunc("GET /cloudwatch/logs/{group...}", s.logGroup)
}
