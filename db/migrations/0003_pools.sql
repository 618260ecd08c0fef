CREATE TABLE "egress_controls" (
	"egress_id" text NOT NULL,
	"provider" text NOT NULL,
	"kind" text NOT NULL,
	"until" timestamp with time zone NOT NULL,
	"rate_count" integer,
	"rate_per_ms" integer,
	"reason" text NOT NULL,
	"set_by" text NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "egress_controls_egress_id_provider_kind_pk" PRIMARY KEY("egress_id","provider","kind")
);
--> statement-breakpoint
CREATE TABLE "egress_warmups" (
	"egress_id" text PRIMARY KEY NOT NULL,
	"started_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "reputation_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"egress_id" text NOT NULL,
	"provider" text NOT NULL,
	"tenant_id" text NOT NULL,
	"kind" text NOT NULL,
	"charge" text NOT NULL,
	"rule_id" text,
	"at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "send_reservations" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"egress_id" text NOT NULL,
	"provider" text NOT NULL,
	"reserved_at" timestamp with time zone NOT NULL,
	"released_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "tenant_fallback_pools" (
	"tenant_id" text PRIMARY KEY NOT NULL,
	"pool_id" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "tenant_holds" (
	"tenant_id" text NOT NULL,
	"provider" text NOT NULL,
	"until" timestamp with time zone NOT NULL,
	"reason" text NOT NULL,
	CONSTRAINT "tenant_holds_tenant_id_provider_pk" PRIMARY KEY("tenant_id","provider")
);
--> statement-breakpoint
ALTER TABLE "egress_controls" ADD CONSTRAINT "egress_controls_egress_id_egress_sources_id_fk" FOREIGN KEY ("egress_id") REFERENCES "public"."egress_sources"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "egress_warmups" ADD CONSTRAINT "egress_warmups_egress_id_egress_sources_id_fk" FOREIGN KEY ("egress_id") REFERENCES "public"."egress_sources"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tenant_fallback_pools" ADD CONSTRAINT "tenant_fallback_pools_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tenant_fallback_pools" ADD CONSTRAINT "tenant_fallback_pools_pool_id_pools_id_fk" FOREIGN KEY ("pool_id") REFERENCES "public"."pools"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tenant_holds" ADD CONSTRAINT "tenant_holds_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "reputation_events_egress_idx" ON "reputation_events" USING btree ("egress_id","at");--> statement-breakpoint
CREATE INDEX "reputation_events_tenant_idx" ON "reputation_events" USING btree ("tenant_id","at");--> statement-breakpoint
CREATE INDEX "send_reservations_egress_idx" ON "send_reservations" USING btree ("egress_id","reserved_at");