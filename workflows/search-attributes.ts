import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Custom search attributes, registered when the dev server starts (dev/temporal-server.ts). */
export const TenantId = defineSearchAttributeKey('TenantId', SearchAttributeType.KEYWORD);
export const UserId = defineSearchAttributeKey('UserId', SearchAttributeType.KEYWORD);
export const NotificationType = defineSearchAttributeKey('NotificationType', SearchAttributeType.KEYWORD);
export const Category = defineSearchAttributeKey('Category', SearchAttributeType.KEYWORD);
export const ChannelAttr = defineSearchAttributeKey('Channel', SearchAttributeType.KEYWORD_LIST);
export const DeliveryStatusAttr = defineSearchAttributeKey('DeliveryStatus', SearchAttributeType.KEYWORD);
