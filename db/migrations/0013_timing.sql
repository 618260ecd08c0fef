CREATE TABLE "notification_schedules" (
	"notification_id" uuid PRIMARY KEY NOT NULL,
	"send_at" timestamp with time zone NOT NULL,
	"reason" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "quiet_hours" (
	"tenant_id" text NOT NULL,
	"user_id" uuid,
	"starts" text NOT NULL,
	"ends" text NOT NULL,
	CONSTRAINT "quiet_hours_tenant_user" UNIQUE NULLS NOT DISTINCT("tenant_id","user_id")
);
--> statement-breakpoint
ALTER TABLE "notification_schedules" ADD CONSTRAINT "notification_schedules_notification_id_notifications_id_fk" FOREIGN KEY ("notification_id") REFERENCES "public"."notifications"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "quiet_hours" ADD CONSTRAINT "quiet_hours_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "quiet_hours" ADD CONSTRAINT "quiet_hours_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;