CREATE TABLE "placement_probes" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"run_id" uuid NOT NULL,
	"ip_id" text NOT NULL,
	"source_ip" text NOT NULL,
	"seed_id" uuid,
	"provider" text NOT NULL,
	"tenant_id" text NOT NULL,
	"marker" text NOT NULL,
	"status" text DEFAULT 'planned' NOT NULL,
	"outcome" text,
	"detail" text,
	"sent_at" timestamp with time zone,
	"checked_at" timestamp with time zone,
	CONSTRAINT "placement_probes_marker_unique" UNIQUE("marker")
);
--> statement-breakpoint
CREATE TABLE "placement_runs" (
	"id" uuid PRIMARY KEY NOT NULL,
	"trigger" text NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"checked_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "seed_mailboxes" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"provider" text NOT NULL,
	"address" text NOT NULL,
	"imap_host" text NOT NULL,
	"imap_port" integer NOT NULL,
	"imap_tls" boolean NOT NULL,
	"username" text NOT NULL,
	"password_enc" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "seed_mailboxes_address_unique" UNIQUE("address")
);
--> statement-breakpoint
ALTER TABLE "placement_probes" ADD CONSTRAINT "placement_probes_run_id_placement_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."placement_runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "placement_probes" ADD CONSTRAINT "placement_probes_ip_id_egress_sources_id_fk" FOREIGN KEY ("ip_id") REFERENCES "public"."egress_sources"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "placement_probes" ADD CONSTRAINT "placement_probes_seed_id_seed_mailboxes_id_fk" FOREIGN KEY ("seed_id") REFERENCES "public"."seed_mailboxes"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "placement_probes_run_idx" ON "placement_probes" USING btree ("run_id");--> statement-breakpoint
CREATE INDEX "placement_probes_ip_idx" ON "placement_probes" USING btree ("ip_id","checked_at");