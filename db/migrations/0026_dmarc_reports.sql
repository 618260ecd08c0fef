CREATE TABLE "dmarc_records" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"report_id" bigint NOT NULL,
	"tenant_id" text NOT NULL,
	"domain" text NOT NULL,
	"day" date NOT NULL,
	"source_ip" text NOT NULL,
	"count" integer NOT NULL,
	"disposition" text NOT NULL,
	"dkim" text NOT NULL,
	"spf" text NOT NULL,
	"header_from" text NOT NULL,
	"envelope_from" text,
	"dkim_results" jsonb NOT NULL,
	"spf_results" jsonb NOT NULL,
	"reasons" jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "dmarc_report_counts" (
	"outcome" text PRIMARY KEY NOT NULL,
	"reports" bigint DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE "dmarc_reports" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"domain" text NOT NULL,
	"org_name" text NOT NULL,
	"report_id" text NOT NULL,
	"format" text NOT NULL,
	"begin_at" timestamp with time zone NOT NULL,
	"end_at" timestamp with time zone NOT NULL,
	"policy" jsonb NOT NULL,
	"messages" bigint NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "postmaster_domain_days" (
	"domain" text NOT NULL,
	"day" date NOT NULL,
	"spam_rate" double precision,
	"spf_success_ratio" double precision,
	"dkim_success_ratio" double precision,
	"dmarc_success_ratio" double precision,
	"domain_reputation" text,
	"imported_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "postmaster_domain_days_domain_day_pk" PRIMARY KEY("domain","day")
);
--> statement-breakpoint
CREATE TABLE "snds_ip_days" (
	"ip" text NOT NULL,
	"day" date NOT NULL,
	"rcpt_commands" integer NOT NULL,
	"data_commands" integer NOT NULL,
	"message_recipients" integer NOT NULL,
	"filter_result" text NOT NULL,
	"complaint_rate" text NOT NULL,
	"trap_hits" integer NOT NULL,
	"imported_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "snds_ip_days_ip_day_pk" PRIMARY KEY("ip","day")
);
--> statement-breakpoint
ALTER TABLE "dmarc_records" ADD CONSTRAINT "dmarc_records_report_id_dmarc_reports_id_fk" FOREIGN KEY ("report_id") REFERENCES "public"."dmarc_reports"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "dmarc_reports" ADD CONSTRAINT "dmarc_reports_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "dmarc_records_domain_day_idx" ON "dmarc_records" USING btree ("tenant_id","domain","day");--> statement-breakpoint
CREATE INDEX "dmarc_records_report_idx" ON "dmarc_records" USING btree ("report_id");--> statement-breakpoint
CREATE UNIQUE INDEX "dmarc_reports_unique_idx" ON "dmarc_reports" USING btree ("domain","org_name","report_id");