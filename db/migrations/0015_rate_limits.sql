CREATE TABLE "rate_buckets" (
	"tenant_id" text NOT NULL,
	"kind" text NOT NULL,
	"tokens" double precision NOT NULL,
	"refilled_at" timestamp with time zone NOT NULL,
	CONSTRAINT "rate_buckets_tenant_id_kind_pk" PRIMARY KEY("tenant_id","kind")
);
--> statement-breakpoint
CREATE TABLE "tenant_rate_limits" (
	"tenant_id" text PRIMARY KEY NOT NULL,
	"requests_per_second" integer,
	"requests_burst" integer,
	"notifications_per_second" integer,
	"notifications_burst" integer,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "tenant_rate_limits" ADD CONSTRAINT "tenant_rate_limits_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;