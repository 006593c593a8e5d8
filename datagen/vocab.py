"""Domain vocabulary for the procedural generator (datagen/synth.py): tables, columns, literal pools.

Each domain is a block of `table: column, column, ...` lines, referenced tables first.
Column specs: `name` (kind inferred from the name), `name>table` (foreign key to that table's
primary key), `name=a|b|c` (a string with those values), `name:kind` (explicit kind).
A line ending in `| pk a, b` has that composite primary key; other tables get an id key.
"""

DOMAINS_TEXT = """
== ecommerce
customers: email, first_name, last_name, phone, loyalty_points, is_active, created_at
categories: name, slug, description, sort_order
products: category_id>categories, sku, name, description, price, stock_qty, weight_kg, tags, attributes, is_active, created_at
orders: customer_id>customers, status=pending|paid|shipped|delivered|cancelled|refunded, total_amount, currency, shipping_address, placed_at, shipped_at
order_items: order_id>orders, product_id>products, quantity, unit_price, discount_pct | pk order_id, product_id
reviews: product_id>products, customer_id>customers, rating:rating5, title, body, is_verified, created_at
carts: customer_id>customers, session_token, created_at, updated_at
cart_items: cart_id>carts, product_id>products, quantity, added_at | pk cart_id, product_id
coupons: code, discount_amount, valid_from, valid_until, max_uses, is_active

== hospital
departments: name, floor, phone, budget
doctors: department_id>departments, first_name, last_name, specialty=cardiology|neurology|pediatrics|oncology|orthopedics|dermatology, license_number, email, hired_on
patients: first_name, last_name, birth_date, gender, phone, email, blood_type=A+|A-|B+|B-|O+|O-|AB+|AB-, insurance_number, address, created_at
appointments: patient_id>patients, doctor_id>doctors, scheduled_at, duration, status=scheduled|completed|cancelled|no_show, reason, notes
admissions: patient_id>patients, department_id>departments, admitted_at, discharged_at, room_number, diagnosis
prescriptions: patient_id>patients, doctor_id>doctors, medication_name, dosage, frequency=daily|twice_daily|weekly|as_needed, start_date, end_date, refills
lab_results: patient_id>patients, test_name, result_value, unit, reference_range, is_abnormal, collected_at
invoices: patient_id>patients, amount, status=open|paid|overdue|void, issued_on, due_date, paid_at

== logistics
warehouses: name, code, city, country, capacity, latitude, longitude
carriers: name, code, contact_email, phone, rating:rating5
shipments: carrier_id>carriers, origin_warehouse_id>warehouses, tracking_number, status=created|in_transit|delivered|returned|lost, weight_kg, shipped_at, delivered_at, cost
packages: shipment_id>shipments, barcode, length_cm, width_cm, height_cm, weight_kg, is_fragile
tracking_events: shipment_id>shipments, event_type=picked_up|departed|arrived|out_for_delivery|delivered|exception, location, occurred_at, details
routes: origin_warehouse_id>warehouses, destination_city, distance_km, estimated_duration, is_active
drivers: carrier_id>carriers, full_name, license_number, phone, hired_on, is_available

== banking
branches: name, city, address, phone, opened_on
customers: first_name, last_name, email, phone, birth_date, national_id, kyc_status=pending|verified|rejected, created_at
accounts: customer_id>customers, branch_id>branches, iban, account_type=checking|savings|business|loan, balance, currency, opened_at, closed_at, is_frozen
transactions: account_id>accounts, amount, currency, tx_type=deposit|withdrawal|transfer|fee|interest, description, reference, posted_at, metadata
cards: account_id>accounts, card_number_last4, card_type=debit|credit|prepaid, expires_on, daily_limit, is_active, issued_at
loans: customer_id>customers, principal, interest_rate, term_months, status=applied|approved|active|repaid|defaulted, start_date, next_payment_date
transfers: from_account_id>accounts, to_account_id>accounts, amount, status=pending|completed|failed, requested_at, completed_at

== iot
sites: name, city, country, timezone, latitude, longitude
devices: site_id>sites, serial_number, model, firmware_version, status=online|offline|maintenance|retired, installed_at, last_seen_at, ip_address, config
sensors: device_id>devices, sensor_type=temperature|humidity|pressure|co2|motion|light, unit, min_value, max_value, is_enabled
readings: sensor_id>sensors, recorded_at, reading_value, quality=good|suspect|bad, raw_payload
alerts: device_id>devices, severity=info|warning|critical, message, triggered_at, resolved_at, acknowledged
firmware_releases: version, release_notes, checksum, released_at, is_stable
maintenance_logs: device_id>devices, technician_name, performed_at, description, cost

== games
players: username, email, display_name, country, level, experience_points, is_banned, created_at, last_login_at
games: title, genre=action|puzzle|strategy|rpg|sports|racing, release_date, developer, price, rating:rating5
matches: game_id>games, started_at, ended_at, map_name, mode=ranked|casual|tournament, duration
match_players: match_id>matches, player_id>players, team, score, kills, deaths, is_winner | pk match_id, player_id
items: game_id>games, name, rarity=common|rare|epic|legendary, price, stats
inventories: player_id>players, item_id>items, quantity, acquired_at | pk player_id, item_id
achievements: game_id>games, name, description, points
player_achievements: player_id>players, achievement_id>achievements, unlocked_at | pk player_id, achievement_id
leaderboards: game_id>games, player_id>players, season, rank, high_score, updated_at

== education
teachers: first_name, last_name, email, department, hire_date, salary
students: first_name, last_name, email, enrollment_date, birth_date, gpa, major, is_active
courses: teacher_id>teachers, code, title, credits, description, max_students, semester=fall|spring|summer
enrollments: student_id>students, course_id>courses, enrolled_at, grade=A|B|C|D|F|P, status=active|dropped|completed | pk student_id, course_id
assignments: course_id>courses, title, description, due_date, max_points, weight_pct
submissions: assignment_id>assignments, student_id>students, submitted_at, points_awarded, feedback, is_late
classrooms: building, room_number, capacity, has_projector

== hr
departments: name, cost_center, budget, location
positions: title, min_salary, max_salary, level
employees: department_id>departments, position_id>positions, first_name, last_name, email, phone, hire_date, salary, employment_type=full_time|part_time|contractor|intern, is_active
time_off_requests: employee_id>employees, start_date, end_date, leave_type=vacation|sick|parental|unpaid, status=pending|approved|rejected, reason, requested_at
performance_reviews: employee_id>employees, reviewer_id>employees, review_period, overall_score, comments, completed_at
salaries_history: employee_id>employees, amount, effective_date, change_reason
benefits: name, description, monthly_cost, provider
employee_benefits: employee_id>employees, benefit_id>benefits, enrolled_on, coverage_level=employee|employee_spouse|family | pk employee_id, benefit_id

== travel
travelers: first_name, last_name, email, passport_number, nationality, birth_date, loyalty_tier=basic|silver|gold|platinum
destinations: city, country, description, timezone, popularity_score
hotels: destination_id>destinations, name, stars, address, nightly_rate, amenities, rating:rating5
trips: traveler_id>travelers, destination_id>destinations, start_date, end_date, budget, status=planned|booked|completed|cancelled, notes
bookings: trip_id>trips, hotel_id>hotels, check_in, check_out, guests, total_price, confirmation_code, booked_at
activities: destination_id>destinations, name, category=tour|museum|outdoor|food|nightlife, price, duration
itinerary_items: trip_id>trips, activity_id>activities, scheduled_at, day_number, notes

== restaurant
restaurants: name, cuisine=italian|mexican|japanese|indian|french|thai, city, address, phone, opened_on, rating:rating5
menu_items: restaurant_id>restaurants, name, description, price, category=starter|main|dessert|drink|side, is_vegetarian, calories, is_available
tables: restaurant_id>restaurants, table_number, seats, area=indoor|outdoor|bar|private
reservations: restaurant_id>restaurants, customer_name, phone, party_size, reserved_for, status=booked|seated|completed|cancelled|no_show, special_requests
staff: restaurant_id>restaurants, full_name, role=chef|waiter|host|manager|dishwasher, hourly_wage, hired_on
orders: restaurant_id>restaurants, table_number, waiter_id>staff, opened_at, closed_at, subtotal, tip_amount, payment_method=cash|card|mobile
order_lines: order_id>orders, menu_item_id>menu_items, quantity, unit_price, notes | pk order_id, menu_item_id

== real_estate
agents: first_name, last_name, email, phone, license_number, commission_rate, agency_name
properties: agent_id>agents, address, city, postal_code, property_type=house|apartment|condo|townhouse|land, bedrooms, bathrooms, square_feet, year_built, list_price, status=active|pending|sold|withdrawn, listed_on, features
clients: full_name, email, phone, budget, preferred_city, created_at
viewings: property_id>properties, client_id>clients, agent_id>agents, scheduled_at, feedback, interest_level=low|medium|high
offers: property_id>properties, client_id>clients, amount, status=submitted|accepted|rejected|countered|withdrawn, submitted_at, expires_at
sales: property_id>properties, client_id>clients, sale_price, closing_date, commission_amount
property_photos: property_id>properties, url, caption, sort_order, uploaded_at

== social_network
users: username, email, display_name, bio, avatar_url, is_verified, follower_count, created_at
posts: user_id>users, content, media_url, visibility=public|followers|private, like_count, created_at, edited_at
comments: post_id>posts, user_id>users, body, created_at, is_deleted
follows: follower_id>users, followee_id>users, created_at | pk follower_id, followee_id
likes: user_id>users, post_id>posts, created_at | pk user_id, post_id
hashtags: tag, usage_count, first_used_at
post_hashtags: post_id>posts, hashtag_id>hashtags | pk post_id, hashtag_id
direct_messages: sender_id>users, recipient_id>users, body, sent_at, read_at

== music_streaming
artists: name, country, genre=rock|pop|jazz|hip_hop|classical|electronic|folk, formed_year, monthly_listeners, bio
albums: artist_id>artists, title, release_date, label, total_tracks, cover_url
tracks: album_id>albums, title, duration, track_number, explicit, play_count, isrc
listeners: username, email, country, subscription_plan=free|premium|family|student, signed_up_at, birth_year
playlists: listener_id>listeners, name, description, is_public, created_at
playlist_tracks: playlist_id>playlists, track_id>tracks, position, added_at | pk playlist_id, track_id
plays: listener_id>listeners, track_id>tracks, played_at, seconds_played, device_type=mobile|desktop|web|speaker|car

== video_streaming
shows: title, genre=drama|comedy|documentary|thriller|animation|reality, release_year, maturity_rating=G|PG|PG-13|R|TV-MA, description, is_original
seasons: show_id>shows, season_number, release_date, episode_count
episodes: season_id>seasons, episode_number, title, duration, air_date, synopsis
subscribers: email, full_name, plan=basic|standard|premium, country, started_at, cancelled_at, is_active
watch_history: subscriber_id>subscribers, episode_id>episodes, watched_at, progress_seconds, completed
ratings: subscriber_id>subscribers, show_id>shows, stars, rated_at | pk subscriber_id, show_id
profiles: subscriber_id>subscribers, name, is_kids, language, avatar_url

== library
authors: first_name, last_name, birth_year, nationality, biography
publishers: name, city, country, website
books: author_id>authors, publisher_id>publishers, isbn, title, genre=fiction|history|science|poetry|biography|children, published_year, page_count, language, copies_available
members: first_name, last_name, email, phone, joined_on, membership_type=standard|student|senior|premium, is_active
loans: book_id>books, member_id>members, borrowed_at, due_date, returned_at, renewals
fines: loan_id>loans, amount, reason, issued_on, paid_at
book_reservations: book_id>books, member_id>members, reserved_at, expires_at, status=waiting|ready|fulfilled|expired

== fitness
members: first_name, last_name, email, phone, birth_date, membership_level=basic|plus|premium, joined_at, is_active
trainers: full_name, specialty=strength|yoga|cardio|crossfit|pilates, hourly_rate, certified_since, email
classes: trainer_id>trainers, name, description, capacity, duration, room, starts_at
class_bookings: class_id>classes, member_id>members, booked_at, attended | pk class_id, member_id
workouts: member_id>members, workout_type=run|ride|swim|lift|hiit|yoga, started_at, duration, calories_burned, distance_km, avg_heart_rate
body_measurements: member_id>members, measured_on, weight_kg, body_fat_pct, height_cm
exercises: name, muscle_group=chest|back|legs|arms|core|shoulders, equipment, instructions

== crm
companies: name, industry=software|retail|finance|healthcare|manufacturing|education, website, employee_count, annual_revenue, country, created_at
contacts: company_id>companies, first_name, last_name, email, phone, job_title, is_primary, created_at
sales_reps: full_name, email, region=north|south|east|west|emea|apac, quota, hired_on
deals: company_id>companies, owner_id>sales_reps, name, amount, stage=prospecting|qualified|proposal|negotiation|won|lost, probability, expected_close_date, created_at
activities: deal_id>deals, contact_id>contacts, activity_type=call|email|meeting|demo|note, subject, notes, occurred_at, duration
leads: email, full_name, company_name, source=web|referral|event|ads|cold_call, score, status=new|contacted|qualified|converted|lost, created_at
pipelines: name, description, is_default, created_at

== project_management
workspaces: name, slug, plan=free|team|business|enterprise, created_at
members: workspace_id>workspaces, email, full_name, role, joined_at, is_active
projects: workspace_id>workspaces, name, description, status=planning|active|on_hold|completed|archived, start_date, due_date, budget
tasks: project_id>projects, assignee_id>members, title, description, status=todo|in_progress|review|done|blocked, priority, story_points, due_date, created_at, completed_at
task_comments: task_id>tasks, author_id>members, body, created_at
time_entries: task_id>tasks, member_id>members, started_at, ended_at, duration, billable, notes
milestones: project_id>projects, title, target_date, is_reached
labels: workspace_id>workspaces, name, color

== support_desk
customers: email, full_name, company_name, plan=free|pro|enterprise, created_at
agents: full_name, email, team=billing|technical|onboarding|escalations, is_available, max_open_tickets
tickets: customer_id>customers, agent_id>agents, subject, description, status=open|pending|on_hold|solved|closed, priority, channel, created_at, resolved_at, first_response_at
ticket_messages: ticket_id>tickets, author_type=customer|agent|system, body, is_internal, sent_at
satisfaction_surveys: ticket_id>tickets, score, comment, submitted_at
sla_policies: name, priority, first_response_minutes, resolution_minutes, is_active
knowledge_articles: title, body, category, views, is_published, updated_at

== events
venues: name, city, address, capacity, contact_email
organizers: name, email, phone, website, verified
events: venue_id>venues, organizer_id>organizers, title, description, category=concert|conference|sports|theatre|festival|workshop, starts_at, ends_at, status=draft|published|cancelled|sold_out, base_price
ticket_types: event_id>events, name, price, quantity_available, sales_start, sales_end
attendees: first_name, last_name, email, phone, created_at
tickets: ticket_type_id>ticket_types, attendee_id>attendees, purchased_at, price_paid, seat_label, checked_in_at, qr_code
speakers: event_id>events, full_name, bio, topic, talk_start

== airline
airports: iata_code, name, city, country, timezone, latitude, longitude
aircraft: registration, model, manufacturer, seat_capacity, year_built, in_service
flights: aircraft_id>aircraft, origin_airport_id>airports, destination_airport_id>airports, flight_number, departure_at, arrival_at, status=scheduled|boarding|departed|landed|delayed|cancelled, gate
passengers: first_name, last_name, email, passport_number, nationality, birth_date, frequent_flyer_number
bookings: flight_id>flights, passenger_id>passengers, booking_reference, seat_number, fare_class=economy|premium|business|first, price, booked_at, checked_in
crew_members: full_name, role=pilot|copilot|purser|attendant, base_airport_id>airports, hired_on, license_number
baggage: booking_id>bookings, tag_number, weight_kg, status=checked|loaded|arrived|lost|delivered

== car_rental
locations: name, city, address, phone, opening_hours
vehicles: location_id>locations, vin, make, model, year, license_plate, category=economy|compact|suv|luxury|van, daily_rate, mileage, status=available|rented|maintenance|retired
customers: first_name, last_name, email, phone, driver_license_number, birth_date, created_at
rentals: vehicle_id>vehicles, customer_id>customers, pickup_location_id>locations, picked_up_at, due_back_at, returned_at, start_mileage, end_mileage, total_cost, status=reserved|active|returned|cancelled
damage_reports: rental_id>rentals, description, severity=minor|moderate|severe, estimated_cost, reported_at
rental_payments: rental_id>rentals, amount, method, paid_at, transaction_ref

== hotel
hotels: name, city, country, stars, address, phone
room_types: hotel_id>hotels, name, description, max_occupancy, base_rate
rooms: hotel_id>hotels, room_type_id>room_types, room_number, floor, is_smoking, status=clean|dirty|occupied|out_of_order
guests: first_name, last_name, email, phone, nationality, vip
reservations: room_id>rooms, guest_id>guests, check_in_date, check_out_date, adults, children, total_amount, status=confirmed|checked_in|checked_out|cancelled|no_show, booked_at, special_requests
housekeeping_tasks: room_id>rooms, task_type=cleaning|turndown|inspection|repair, assigned_to, scheduled_for, completed_at
folio_charges: reservation_id>reservations, description, amount, charged_at, category=room|minibar|restaurant|spa|parking

== insurance
policyholders: first_name, last_name, email, phone, birth_date, address, city, created_at
insurance_agents: full_name, email, phone, region, commission_rate
policies: policyholder_id>policyholders, agent_id>insurance_agents, policy_number, policy_type=auto|home|life|health|travel, premium, coverage_amount, deductible, start_date, end_date, status=active|lapsed|cancelled|expired
claims: policy_id>policies, claim_number, incident_date, reported_at, amount_claimed, amount_paid, status=filed|reviewing|approved|denied|paid, description
claim_documents: claim_id>claims, file_name, content_type, file_size, uploaded_at
premium_payments: policy_id>policies, amount, due_date, paid_at, method
vehicles_insured: policy_id>policies, vin, make, model, year, annual_mileage

== manufacturing
plants: name, city, country, opened_on, capacity_units
production_lines: plant_id>plants, name, line_type=assembly|packaging|machining|painting, max_throughput, is_active
products: sku, name, description, unit_cost, weight_kg, revision
work_orders: production_line_id>production_lines, product_id>products, quantity_planned, quantity_produced, status=planned|released|in_progress|completed|cancelled, scheduled_start, actual_end
components: part_number, name, supplier_name, unit_cost, lead_time_days, stock_qty
bill_of_materials: product_id>products, component_id>components, quantity_per_unit | pk product_id, component_id
quality_checks: work_order_id>work_orders, inspector_name, checked_at, passed, defect_count, notes
machine_downtime: production_line_id>production_lines, started_at, ended_at, reason, downtime_cost

== inventory
suppliers: name, contact_name, email, phone, country, lead_time_days, rating:rating5
warehouses: name, code, address, city, capacity
items: supplier_id>suppliers, sku, name, description, unit_cost, reorder_level, unit_of_measure=each|box|kg|liter|pallet, is_discontinued
stock_levels: item_id>items, warehouse_id>warehouses, quantity_on_hand, quantity_reserved, last_counted_at | pk item_id, warehouse_id
purchase_orders: supplier_id>suppliers, po_number, status=draft|sent|confirmed|received|closed, ordered_at, expected_date, total_cost
purchase_order_lines: purchase_order_id>purchase_orders, item_id>items, quantity, unit_cost, received_qty | pk purchase_order_id, item_id
stock_movements: item_id>items, warehouse_id>warehouses, movement_type=receipt|shipment|adjustment|transfer, quantity, moved_at, reference

== energy
customers: account_number, full_name, email, service_address, city, tariff=residential|commercial|industrial, created_at
meters: customer_id>customers, serial_number, meter_type=electric|gas|water, installed_on, last_read_at, is_smart
meter_readings: meter_id>meters, read_at, reading_kwh, is_estimated
bills: customer_id>customers, billing_period_start, billing_period_end, usage_kwh, amount_due, due_date, paid_at, status=issued|paid|overdue|disputed
outages: region, started_at, restored_at, affected_customers, cause=storm|equipment|maintenance|overload|unknown
power_plants: name, fuel_type=solar|wind|hydro|gas|coal|nuclear, capacity_mw, commissioned_year, latitude, longitude
generation_logs: power_plant_id>power_plants, logged_at, output_mwh, efficiency_pct

== agriculture
farms: name, owner_name, region, total_area_hectares, established_year, is_organic
fields: farm_id>farms, name, area_hectares, soil_type=clay|sandy|loam|silt|peat, irrigation
crops: name, variety, growing_days, optimal_temperature
plantings: field_id>fields, crop_id>crops, planted_on, expected_harvest_date, seed_quantity_kg
harvests: planting_id>plantings, harvested_on, yield_kg, quality_grade=A|B|C, moisture_pct
livestock: farm_id>farms, tag_number, species=cattle|sheep|goat|pig|chicken, breed, birth_date, weight_kg
equipment: farm_id>farms, name, equipment_type=tractor|harvester|sprayer|seeder|irrigator, purchased_on, hours_used, last_service_date

== telecom
subscribers: msisdn, first_name, last_name, email, address, activated_on, status=active|suspended|terminated
plans: name, monthly_fee, data_gb, voice_minutes, sms_count, is_prepaid
subscriptions: subscriber_id>subscribers, plan_id>plans, started_on, ended_on, auto_renew
call_records: subscriber_id>subscribers, called_number, started_at, duration, call_type=local|national|international|roaming, charge
data_sessions: subscriber_id>subscribers, started_at, ended_at, bytes_used, apn, cell_id
cell_towers: tower_code, latitude, longitude, technology=3G|4G|5G, region, installed_on
support_cases: subscriber_id>subscribers, category, description, opened_at, closed_at, status=open|closed|escalated

== government
citizens: national_id, first_name, last_name, birth_date, address, city, postal_code, email
agencies: name, acronym, budget, headquarters_city
permits: citizen_id>citizens, agency_id>agencies, permit_type=building|parking|business|event|fishing, application_date, issued_on, expires_on, status=submitted|under_review|approved|denied|expired, fee
inspections: permit_id>permits, inspector_name, scheduled_for, completed_at, result=pass|fail|conditional, notes
public_records: agency_id>agencies, record_type, title, filed_on, is_confidential, document_url
tax_returns: citizen_id>citizens, tax_year, gross_income, tax_due, filed_at, refund_amount, status=filed|processing|accepted|audited

== nonprofit
donors: first_name, last_name, email, phone, city, country, first_donation_date, is_recurring
campaigns: name, description, goal_amount, raised_amount, starts_on, ends_on, status=draft|active|completed|cancelled
donations: donor_id>donors, campaign_id>campaigns, amount, currency, donated_at, payment_method, is_anonymous, tax_receipt_sent
volunteers: first_name, last_name, email, phone, skills, available_hours, joined_on
volunteer_shifts: volunteer_id>volunteers, campaign_id>campaigns, shift_start, shift_end, role, checked_in
grants: funder_name, amount, awarded_on, reporting_due, purpose

== blog
authors: username, email, display_name, bio, avatar_url, created_at
categories: name, slug, description
posts: author_id>authors, category_id>categories, title, slug, body, excerpt, status=draft|published|scheduled|archived, view_count, published_at, updated_at
comments: post_id>posts, author_name, author_email, body, is_approved, created_at
tags: name, slug
post_tags: post_id>posts, tag_id>tags | pk post_id, tag_id
media_files: author_id>authors, file_name, mime_type, file_size, url, alt_text, uploaded_at

== news
journalists: full_name, email, beat=politics|sports|business|tech|culture|science, hired_on, twitter_handle
sections: name, slug, sort_order
articles: journalist_id>journalists, section_id>sections, headline, subheadline, body, word_count, published_at, is_breaking, status=draft|review|published|retracted
article_revisions: article_id>articles, editor_name, changes_summary, revised_at
subscribers: email, full_name, plan=monthly|annual|digital|print, started_on, is_active
page_views: article_id>articles, subscriber_id>subscribers, viewed_at, referrer, seconds_on_page

== recruiting
companies: name, industry, website, size_range=1-10|11-50|51-200|201-1000|1000+, headquarters
job_postings: company_id>companies, title, description, location, employment_type=full_time|part_time|contract|internship, salary_min, salary_max, posted_at, closes_on, is_remote
candidates: first_name, last_name, email, phone, resume_url, years_experience, skills, created_at
applications: job_posting_id>job_postings, candidate_id>candidates, applied_at, status=applied|screening|interview|offer|hired|rejected, cover_letter, source
interviews: application_id>applications, interviewer_name, scheduled_at, interview_type=phone|video|onsite|technical, score, feedback
offers: application_id>applications, salary, start_date, sent_at, accepted_at, status=sent|accepted|declined|expired

== payroll
employees: employee_number, first_name, last_name, email, hire_date, pay_type=salaried|hourly, hourly_rate, annual_salary, bank_account
pay_periods: period_start, period_end, pay_date, is_closed
payslips: employee_id>employees, pay_period_id>pay_periods, gross_pay, tax_withheld, deductions, net_pay, issued_at
timesheets: employee_id>employees, work_date, hours_worked, overtime_hours, approved
deduction_types: name, description, is_pre_tax, default_amount
employee_deductions: employee_id>employees, deduction_type_id>deduction_types, amount, effective_from | pk employee_id, deduction_type_id

== accounting
accounts: account_code, name, account_type=asset|liability|equity|revenue|expense, parent_code, is_active
fiscal_periods: name, start_date, end_date, is_closed
journal_entries: fiscal_period_id>fiscal_periods, entry_number, description, posted_at, created_by, is_reversed
journal_lines: journal_entry_id>journal_entries, account_id>accounts, debit, credit, memo
vendors: name, tax_id, email, payment_terms, address
bills: vendor_id>vendors, bill_number, amount, issued_on, due_date, paid_on, status=open|paid|overdue|void
budgets: account_id>accounts, fiscal_period_id>fiscal_periods, amount, notes

== crypto_exchange
users: email, username, country, kyc_level, two_factor_enabled, created_at
assets: symbol, name, decimals, is_tradable, network
wallets: user_id>users, asset_id>assets, address, balance, locked_balance, created_at
trading_pairs: base_asset_id>assets, quote_asset_id>assets, symbol, min_order_size, is_active
orders: user_id>users, trading_pair_id>trading_pairs, side=buy|sell, order_type=market|limit|stop, price, quantity, filled_quantity, status=open|partially_filled|filled|cancelled, created_at
trades: trading_pair_id>trading_pairs, buy_order_id>orders, sell_order_id>orders, price, quantity, fee, executed_at
deposits: wallet_id>wallets, amount, tx_hash, confirmations, status=pending|confirmed|failed, created_at

== stock_trading
investors: first_name, last_name, email, risk_profile=conservative|moderate|aggressive, created_at
brokerage_accounts: investor_id>investors, account_number, account_type=individual|joint|ira|roth_ira, cash_balance, opened_on
securities: ticker, company_name, exchange=NYSE|NASDAQ|LSE|TSE, sector, currency, is_etf
positions: brokerage_account_id>brokerage_accounts, security_id>securities, shares, average_cost, opened_at | pk brokerage_account_id, security_id
trade_orders: brokerage_account_id>brokerage_accounts, security_id>securities, side=buy|sell, quantity, limit_price, status=pending|filled|cancelled|rejected, placed_at, filled_at
price_history: security_id>securities, trade_date, open_price, close_price, high_price, low_price, volume
dividends: security_id>securities, ex_date, pay_date, amount_per_share

== payments
merchants: name, email, website, category, country, onboarded_at, is_active
customers: email, full_name, country, created_at
payment_methods: customer_id>customers, method_type=card|bank_account|wallet, brand, last4, expires_on, is_default
payments: merchant_id>merchants, customer_id>customers, payment_method_id>payment_methods, amount, currency, status=pending|succeeded|failed|refunded|disputed, description, created_at, captured_at, metadata
refunds: payment_id>payments, amount, reason=duplicate|fraudulent|requested_by_customer, status=pending|succeeded|failed, created_at
payouts: merchant_id>merchants, amount, currency, arrival_date, status=pending|in_transit|paid|failed
disputes: payment_id>payments, amount, reason, status=open|won|lost, evidence_due_by, opened_at

== saas_billing
organizations: name, domain, plan=free|starter|growth|enterprise, seats, created_at, trial_ends_at
users: organization_id>organizations, email, full_name, role, last_login_at, is_active
plans: name, monthly_price, annual_price, max_seats, features, is_public
subscriptions: organization_id>organizations, plan_id>plans, status=trialing|active|past_due|cancelled, current_period_start, current_period_end, cancel_at_period_end, created_at
invoices: organization_id>organizations, subscription_id>subscriptions, invoice_number, amount_due, amount_paid, status=draft|open|paid|void|uncollectible, issued_at, due_at
usage_records: subscription_id>subscriptions, metric=api_calls|storage_gb|seats|minutes, quantity, recorded_at
api_keys: organization_id>organizations, name, key_prefix, scopes, created_at, last_used_at, revoked_at

== marketing
advertisers: name, industry, contact_email, monthly_budget, created_at
campaigns: advertiser_id>advertisers, name, objective=awareness|traffic|leads|sales|app_installs, status=draft|active|paused|completed, daily_budget, start_date, end_date, target_audience
ad_groups: campaign_id>campaigns, name, bid_amount, targeting, is_active
ads: ad_group_id>ad_groups, headline, body_text, image_url, landing_url, format=banner|video|text|carousel, status=pending_review|approved|rejected|paused
impressions: ad_id>ads, shown_at, placement, device_type, country, cost
clicks: ad_id>ads, clicked_at, ip_address, user_agent, converted
conversions: ad_id>ads, converted_at, conversion_type=purchase|signup|download|lead, revenue

== email_marketing
lists: name, description, subscriber_count, created_at
contacts: email, first_name, last_name, status=subscribed|unsubscribed|bounced|complained, subscribed_at, timezone, custom_fields
list_memberships: list_id>lists, contact_id>contacts, added_at | pk list_id, contact_id
email_templates: name, subject, html_body, created_at, updated_at
email_campaigns: list_id>lists, template_id>email_templates, name, subject, status=draft|scheduled|sending|sent, scheduled_at, sent_at
email_events: campaign_id>email_campaigns, contact_id>contacts, event_type=delivered|opened|clicked|bounced|unsubscribed, occurred_at, link_url

== web_analytics
sites: domain, name, timezone, created_at
visitors: site_id>sites, anonymous_id, first_seen_at, country, browser, os, device_type
sessions: visitor_id>visitors, started_at, ended_at, landing_page, referrer, utm_source, utm_campaign, page_count
pageviews: session_id>sessions, url, title, viewed_at, time_on_page, scroll_depth_pct
events: session_id>sessions, event_name, properties, occurred_at, event_value
goals: site_id>sites, name, goal_type=pageview|event|duration, target_url, is_active

== devops
repositories: name, full_name, default_branch, visibility=public|private|internal, stars, created_at
pipelines: repository_id>repositories, name, trigger=push|pull_request|schedule|manual, config_path, is_enabled
pipeline_runs: pipeline_id>pipelines, commit_sha, branch, status=queued|running|succeeded|failed|cancelled, started_at, finished_at, duration, triggered_by
jobs: pipeline_run_id>pipeline_runs, name, runner, status=queued|running|succeeded|failed|skipped, exit_code, started_at, finished_at, log_url
deployments: repository_id>repositories, environment=dev|staging|production, version, deployed_at, deployed_by, status=pending|success|failed|rolled_back
artifacts: pipeline_run_id>pipeline_runs, name, size_bytes, checksum, storage_path, expires_at

== monitoring
services: name, team, tier=critical|high|medium|low, repository_url, created_at
hosts: service_id>services, hostname, ip_address, region, instance_type, cpu_cores, memory_gb, is_healthy
metrics: host_id>hosts, metric_name, metric_value, unit, collected_at, labels
log_entries: service_id>services, host_id>hosts, level=debug|info|warn|error|fatal, message, context, logged_at, trace_id
incidents: service_id>services, title, severity=sev1|sev2|sev3|sev4, status=open|investigating|mitigated|resolved, started_at, resolved_at, postmortem_url
on_call_shifts: service_id>services, engineer_email, starts_at, ends_at, is_primary
alert_rules: service_id>services, name, expression, threshold, evaluation_interval, is_enabled

== identity
tenants: name, domain, region, created_at, is_active
users: tenant_id>tenants, email, password_hash, display_name, email_verified, mfa_enabled, last_login_at, created_at, locked_until
roles: tenant_id>tenants, name, description, permissions
user_roles: user_id>users, role_id>roles, granted_at, granted_by | pk user_id, role_id
auth_sessions: user_id>users, session_token, ip_address, user_agent, created_at, expires_at, revoked
login_attempts: user_id>users, attempted_at, ip_address, success, failure_reason
oauth_clients: tenant_id>tenants, client_name, client_secret_hash, redirect_uris, scopes, created_at

== chat
users: username, display_name, email, status=online|away|busy|offline, avatar_url, created_at
channels: name, topic, is_private, created_by_id>users, created_at, archived_at
channel_members: channel_id>channels, user_id>users, joined_at, role, muted | pk channel_id, user_id
messages: channel_id>channels, sender_id>users, body, sent_at, edited_at, is_pinned, thread_root_id, attachments
reactions: message_id>messages, user_id>users, emoji, reacted_at
read_receipts: message_id>messages, user_id>users, read_at | pk message_id, user_id

== food_delivery
restaurants: name, cuisine, address, city, rating:rating5, delivery_fee, min_order_amount, is_open
couriers: full_name, phone, vehicle_type=bike|scooter|car|walking, current_latitude, current_longitude, is_active, rating:rating5
customers: full_name, email, phone, default_address, created_at
menu_items: restaurant_id>restaurants, name, description, price, category, is_available, prep_time
orders: customer_id>customers, restaurant_id>restaurants, courier_id>couriers, status=placed|accepted|preparing|picked_up|delivered|cancelled, subtotal, delivery_fee, tip, placed_at, delivered_at, delivery_address
order_items: order_id>orders, menu_item_id>menu_items, quantity, unit_price, special_instructions
courier_payouts: courier_id>couriers, amount, period_start, period_end, paid_at

== ride_sharing
riders: full_name, email, phone, rating:rating5, created_at, payment_token
drivers: full_name, email, phone, license_number, rating:rating5, is_online, joined_at
vehicles: driver_id>drivers, make, model, year, license_plate, color, seats
rides: rider_id>riders, driver_id>drivers, vehicle_id>vehicles, pickup_address, dropoff_address, requested_at, picked_up_at, dropped_off_at, distance_km, fare, surge_multiplier, status=requested|accepted|in_progress|completed|cancelled
ride_ratings: ride_id>rides, rider_stars, driver_stars, comment, rated_at
promotions: code, discount_pct, max_discount, valid_until, usage_limit

== parking
parking_lots: name, address, city, total_spaces, hourly_rate, latitude, longitude, is_covered
parking_spaces: parking_lot_id>parking_lots, space_number, level, space_type=regular|compact|ev|handicap|motorcycle, is_occupied
vehicles: license_plate, make, model, color, owner_email
parking_sessions: parking_space_id>parking_spaces, vehicle_id>vehicles, entered_at, exited_at, amount_charged, payment_status=pending|paid|failed
permits: vehicle_id>vehicles, parking_lot_id>parking_lots, valid_from, valid_until, permit_type=monthly|annual|resident|staff, price
citations: vehicle_id>vehicles, parking_lot_id>parking_lots, issued_at, violation, fine_amount, paid_at

== pharmacy
pharmacies: name, address, city, phone, license_number, opens_at_hour, closes_at_hour
medications: name, generic_name, manufacturer, dosage_form=tablet|capsule|syrup|injection|cream, strength, requires_prescription, unit_price
inventory: pharmacy_id>pharmacies, medication_id>medications, quantity, lot_number, expiry_date | pk pharmacy_id, medication_id
patients: first_name, last_name, birth_date, phone, allergies, insurance_provider
prescriptions: patient_id>patients, medication_id>medications, prescriber_name, quantity, refills_remaining, issued_on, filled_at
sales: pharmacy_id>pharmacies, prescription_id>prescriptions, total_amount, copay, sold_at, payment_method

== clinical_trials
sponsors: name, country, contact_email, sponsor_type=pharma|academic|government|nonprofit
trials: sponsor_id>sponsors, title, phase=I|II|III|IV, condition, status=planned|recruiting|active|completed|terminated, start_date, end_date, target_enrollment
trial_sites: trial_id>trials, site_name, city, country, principal_investigator
participants: trial_site_id>trial_sites, subject_code, birth_year, sex, enrolled_on, arm=placebo|treatment|control, withdrawn_on
visits: participant_id>participants, visit_number, visit_date, weight_kg, systolic_bp, diastolic_bp, notes
adverse_events: participant_id>participants, description, severity=mild|moderate|severe|life_threatening, onset_date, resolved_on, is_serious

== veterinary
owners: first_name, last_name, email, phone, address
pets: owner_id>owners, name, species=dog|cat|rabbit|bird|reptile|horse, breed, birth_date, weight_kg, microchip_id, is_neutered
veterinarians: full_name, email, specialty, license_number, hired_on
visits: pet_id>pets, veterinarian_id>veterinarians, visit_date, reason, diagnosis, treatment, cost
vaccinations: pet_id>pets, vaccine_name, administered_on, next_due_on, batch_number
pet_medications: pet_id>pets, medication_name, dosage, start_date, end_date

== dental_clinic
patients: first_name, last_name, birth_date, phone, email, insurance_provider, last_visit_date
dentists: full_name, specialty=general|orthodontics|periodontics|endodontics|pediatric, license_number, email
appointments: patient_id>patients, dentist_id>dentists, scheduled_at, duration, procedure_type, status=booked|confirmed|completed|cancelled, notes
treatments: appointment_id>appointments, tooth_number, procedure_code, description, fee, insurance_covered
dental_invoices: patient_id>patients, amount, issued_on, paid_on, balance

== sports_league
leagues: name, sport=football|basketball|baseball|hockey|soccer|volleyball, country, founded_year
teams: league_id>leagues, name, city, stadium, founded_year, coach_name
players: team_id>teams, first_name, last_name, position, jersey_number, birth_date, height_cm, weight_kg, nationality
games: league_id>leagues, home_team_id>teams, away_team_id>teams, played_at, home_score, away_score, attendance, season
player_stats: game_id>games, player_id>players, minutes_played, points, assists, rebounds, fouls | pk game_id, player_id
injuries: player_id>players, injury_type, occurred_on, expected_return, is_season_ending
transfers: player_id>players, from_team_id>teams, to_team_id>teams, transfer_fee, transfer_date

== museum
artists: full_name, birth_year, death_year, nationality, movement
galleries: name, floor, wing, climate_controlled
artworks: artist_id>artists, gallery_id>galleries, title, year_created, medium, height_cm, width_cm, estimated_value, acquired_on, is_on_display
exhibitions: title, description, starts_on, ends_on, curator_name, ticket_price
exhibition_artworks: exhibition_id>exhibitions, artwork_id>artworks, display_order | pk exhibition_id, artwork_id
museum_visitors: first_name, last_name, email, membership_type=none|individual|family|patron, visited_at

== cinema
cinemas: name, city, address, screen_count
screens: cinema_id>cinemas, screen_number, seat_count, has_imax, has_3d
movies: title, director, release_date, runtime_minutes, genre=action|comedy|drama|horror|animation|scifi, rating_code=G|PG|PG-13|R, language
showtimes: screen_id>screens, movie_id>movies, starts_at, base_price, is_sold_out
ticket_sales: showtime_id>showtimes, seat_row, seat_number, price, sold_at, customer_email
concessions: cinema_id>cinemas, item_name, price, stock_qty

== school
schools: name, district, address, principal_name, founded_year
grades: school_id>schools, grade_level, academic_year
teachers: school_id>schools, first_name, last_name, email, subject, hired_on
pupils: school_id>schools, first_name, last_name, birth_date, guardian_name, guardian_phone, enrolled_on
attendance: pupil_id>pupils, attendance_date, status=present|absent|late|excused, note
report_cards: pupil_id>pupils, term=Q1|Q2|Q3|Q4, academic_year, math_score, reading_score, science_score, teacher_comment
school_buses: school_id>schools, bus_number, driver_name, capacity, route_name

== research_grants
researchers: first_name, last_name, email, institution, department, orcid, h_index
grants: principal_investigator_id>researchers, title, funding_agency, amount, start_date, end_date, status=submitted|awarded|active|closed|rejected
publications: title, journal, published_year, doi, citation_count, is_open_access
grant_publications: grant_id>grants, publication_id>publications | pk grant_id, publication_id
lab_equipment: name, serial_number, purchase_cost, purchased_on, location, is_shared
experiments: grant_id>grants, researcher_id>researchers, title, hypothesis, started_on, completed_on, outcome

== legal
clients: full_name, email, phone, client_type=individual|corporate|government, created_at
attorneys: full_name, email, bar_number, practice_area=litigation|corporate|family|criminal|ip|tax, hourly_rate, is_partner
cases: client_id>clients, lead_attorney_id>attorneys, case_number, title, case_type, status=intake|open|discovery|trial|settled|closed, opened_on, closed_on, court
billable_hours: case_id>cases, attorney_id>attorneys, work_date, hours, description, rate, is_billed
case_documents: case_id>cases, title, document_type=pleading|motion|contract|evidence|correspondence, filed_on, storage_url, is_privileged
court_dates: case_id>cases, scheduled_at, courtroom, hearing_type, outcome

== construction
projects: name, client_name, site_address, city, budget, start_date, planned_end_date, status=bidding|active|on_hold|completed
contractors: company_name, trade=electrical|plumbing|framing|roofing|hvac|concrete, contact_email, phone, license_number, insurance_expires_on
project_contracts: project_id>projects, contractor_id>contractors, contract_value, signed_on, scope
materials: name, unit, unit_cost, supplier
material_orders: project_id>projects, material_id>materials, quantity, ordered_on, delivered_on, total_cost
site_inspections: project_id>projects, inspector_name, inspected_on, passed, findings
change_orders: project_id>projects, description, cost_impact, days_impact, approved, requested_on

== fleet
depots: name, city, address, capacity
fleet_vehicles: depot_id>depots, vin, license_plate, make, model, year, fuel_type=diesel|gasoline|electric|hybrid, odometer_km, status=active|maintenance|retired
fleet_drivers: depot_id>depots, full_name, license_class, phone, hired_on, safety_score
trips: vehicle_id>fleet_vehicles, driver_id>fleet_drivers, started_at, ended_at, start_odometer, end_odometer, purpose
fuel_logs: vehicle_id>fleet_vehicles, filled_at, liters, cost, station_name
service_records: vehicle_id>fleet_vehicles, service_type=oil_change|tires|brakes|inspection|repair, serviced_on, odometer_km, cost, notes
gps_pings: vehicle_id>fleet_vehicles, recorded_at, latitude, longitude, speed_kmh, heading

== smart_home
households: name, address, timezone, created_at
rooms: household_id>households, name, floor
home_devices: room_id>rooms, name, device_type=light|thermostat|lock|camera|plug|speaker, manufacturer, model, is_online, state:json, paired_at
automations: household_id>households, name, trigger_type=time|sensor|location|manual, trigger_config, is_enabled, last_run_at
automation_actions: automation_id>automations, device_id>home_devices, action=turn_on|turn_off|set_level|lock|unlock, parameters, sort_order
energy_usage: device_id>home_devices, measured_at, watts, kwh_today

== weather
stations: station_code, name, latitude, longitude, elevation_m, country, installed_on, is_active
observations: station_id>stations, observed_at, temperature_c, humidity_pct, pressure_hpa, wind_speed_kmh, wind_direction, precipitation_mm
forecasts: station_id>stations, issued_at, valid_for, min_temp_c, max_temp_c, precipitation_chance, summary
weather_alerts: station_id>stations, alert_type=storm|flood|heat|frost|wind, severity, issued_at, expires_at, description
station_maintenance: station_id>stations, performed_on, technician, notes

== retail_pos
stores: name, address, city, manager_name, opened_on
registers: store_id>stores, register_number, is_active
cashiers: store_id>stores, full_name, employee_code, hourly_wage, hired_on
products: barcode, name, brand, category, price, cost, tax_rate, is_active
sales_transactions: store_id>stores, register_id>registers, cashier_id>cashiers, total_amount, tax_amount, payment_type=cash|credit|debit|gift_card|mobile, transacted_at, receipt_number
sale_lines: sales_transaction_id>sales_transactions, product_id>products, quantity, unit_price, discount_amount
gift_cards: card_code, initial_balance, current_balance, issued_at, expires_on

== marketplace
sellers: shop_name, email, country, rating:rating5, joined_at, is_verified, payout_method
buyers: username, email, country, created_at, total_spent
listings: seller_id>sellers, title, description, price, quantity, condition=new|used|refurbished, category, shipping_cost, status=active|sold|expired|removed, created_at, tags
purchases: listing_id>listings, buyer_id>buyers, quantity, total_price, purchased_at, shipped_at, tracking_number
seller_reviews: purchase_id>purchases, rating:rating5, comment, created_at
messages: listing_id>listings, buyer_id>buyers, body, sent_at, from_seller
watchlist: buyer_id>buyers, listing_id>listings, added_at | pk buyer_id, listing_id

== dating
profiles: display_name, birth_date, gender, city, bio, height_cm, looking_for=friendship|dating|relationship|marriage, last_active_at, is_premium
photos: profile_id>profiles, url, position, is_primary, uploaded_at
swipes: swiper_id>profiles, swiped_id>profiles, direction=left|right|super, swiped_at
matches: profile_a_id>profiles, profile_b_id>profiles, matched_at, unmatched_at
chat_messages: match_id>matches, sender_id>profiles, body, sent_at, read_at
interests: name, category
profile_interests: profile_id>profiles, interest_id>interests | pk profile_id, interest_id

== property_management
buildings: name, address, city, year_built, floors, manager_email
units: building_id>buildings, unit_number, bedrooms, bathrooms, square_feet, monthly_rent, is_vacant
tenants: first_name, last_name, email, phone, move_in_date, emergency_contact
leases: unit_id>units, tenant_id>tenants, start_date, end_date, monthly_rent, security_deposit, status=pending|active|ended|terminated
rent_payments: lease_id>leases, amount, due_date, paid_on, late_fee, method
maintenance_requests: unit_id>units, tenant_id>tenants, category=plumbing|electrical|appliance|hvac|pest|other, description, priority, status=open|scheduled|in_progress|closed, created_at, closed_at

== auctions
auction_houses: name, city, country, founded_year, commission_pct
auctions: auction_house_id>auction_houses, title, starts_at, ends_at, status=upcoming|live|closed|cancelled
lots: auction_id>auctions, lot_number, title, description, estimate_low, estimate_high, reserve_price, category
bidders: full_name, email, paddle_number, country, credit_limit, is_approved
bids: lot_id>lots, bidder_id>bidders, amount, placed_at, is_winning
lot_sales: lot_id>lots, bidder_id>bidders, hammer_price, buyers_premium, sold_at

== winery
vineyards: name, region, country, area_hectares, soil_type, established_year
grape_varieties: name, color=red|white|rose, origin_country
harvest_batches: vineyard_id>vineyards, grape_variety_id>grape_varieties, vintage_year, harvested_on, weight_kg, sugar_brix
wines: name, vintage_year, wine_style=still|sparkling|fortified|dessert, alcohol_pct, bottle_price, bottles_produced, tasting_notes
barrels: wine_id>wines, barrel_code, oak_type=french|american|hungarian|none, filled_on, volume_liters
wine_sales: wine_id>wines, customer_name, bottles, total_amount, sold_on, channel=cellar_door|online|distributor|restaurant

== shipping_ports
ports: name, un_locode, country, latitude, longitude, max_draft_m
vessels: name, imo_number, flag_country, vessel_type=container|bulk|tanker|roro|cruise, gross_tonnage, built_year
port_calls: vessel_id>vessels, port_id>ports, arrived_at, departed_at, berth, status=expected|berthed|departed|cancelled
containers: container_number, size_ft, container_type=dry|reefer|open_top|tank, owner_line, tare_weight_kg
container_moves: container_id>containers, port_call_id>port_calls, move_type=load|discharge|restow, moved_at, crane_id
customs_declarations: container_id>containers, declaration_number, declared_value, hs_code, status=filed|cleared|held|released, filed_at

== recipes
users: username, email, display_name, joined_at
recipes: author_id>users, title, description, cuisine, prep_time, cook_time, servings, difficulty=easy|medium|hard, is_published, created_at
ingredients: name, category, calories_per_100g, is_allergen
recipe_ingredients: recipe_id>recipes, ingredient_id>ingredients, quantity, unit, notes | pk recipe_id, ingredient_id
recipe_steps: recipe_id>recipes, step_number, instruction, duration
recipe_ratings: recipe_id>recipes, user_id>users, stars, review, rated_at
collections: user_id>users, name, is_private, created_at

== bike_sharing
stations: name, latitude, longitude, capacity, city, is_active
bikes: home_station_id>stations, serial_number, bike_type=classic|electric|cargo, battery_level, status=available|in_use|repair|lost, last_service_date
riders: email, full_name, phone, membership=casual|monthly|annual, joined_at, balance
bike_trips: bike_id>bikes, rider_id>riders, start_station_id>stations, end_station_id>stations, started_at, ended_at, distance_km, fare
repair_tickets: bike_id>bikes, issue, reported_at, fixed_at, mechanic_name, repair_cost

== elections
elections: name, election_date, election_type=general|primary|local|referendum, is_certified
districts: name, state, registered_voters, population
candidates: election_id>elections, district_id>districts, full_name, party, ballot_position, is_incumbent
polling_stations: district_id>districts, name, address, opens_at_hour, capacity
votes_cast: polling_station_id>polling_stations, candidate_id>candidates, vote_count, reported_at
voter_registrations: district_id>districts, voter_number, first_name, last_name, birth_date, registered_on, party_affiliation

== surveys
surveys: title, description, status=draft|open|closed, opens_at, closes_at, is_anonymous, created_at
questions: survey_id>surveys, question_text, question_type=single_choice|multi_choice|text|rating|scale, position, is_required
answer_options: question_id>questions, option_text, position
respondents: email, age_group=18-24|25-34|35-44|45-54|55+, country, created_at
responses: survey_id>surveys, respondent_id>respondents, started_at, submitted_at, completion_pct
answers: response_id>responses, question_id>questions, answer_option_id>answer_options, text_value, numeric_value

== code_hosting
accounts: login, email, display_name, account_type=user|organization, created_at, is_site_admin
repos: owner_id>accounts, name, description, is_private, is_fork, default_branch, stars_count, forks_count, pushed_at, created_at, topics
commits: repo_id>repos, author_id>accounts, sha, message, committed_at, additions, deletions
pull_requests: repo_id>repos, author_id>accounts, pr_number, title, body, state=open|closed|merged, created_at, merged_at, head_ref, base_ref, is_draft
issues: repo_id>repos, author_id>accounts, issue_number, title, body, state=open|closed, labels, created_at, closed_at
review_comments: pull_request_id>pull_requests, author_id>accounts, body, path, line, created_at
stars: account_id>accounts, repo_id>repos, starred_at | pk account_id, repo_id

== feature_flags
environments: name, slug, is_production, created_at
feature_flags: flag_key, description, flag_type=boolean|string|number|json, default_value, is_archived, created_at, owner_email
flag_states: feature_flag_id>feature_flags, environment_id>environments, is_enabled, rollout_pct, rules, updated_at | pk feature_flag_id, environment_id
segments: environment_id>environments, name, description, conditions, created_at
flag_evaluations: feature_flag_id>feature_flags, environment_id>environments, evaluated_at, variation, context_key
audit_entries: feature_flag_id>feature_flags, actor_email, action=created|updated|toggled|archived, diff, occurred_at

== charging_stations
operators: name, country, website, support_phone
charging_sites: operator_id>operators, name, address, city, latitude, longitude, is_public, opening_hours
chargers: charging_site_id>charging_sites, serial_number, connector_type=ccs|chademo|type2|tesla, max_power_kw, status=available|charging|faulted|offline, installed_on
ev_drivers: email, full_name, vehicle_model, rfid_tag, created_at
charging_sessions: charger_id>chargers, driver_id>ev_drivers, started_at, ended_at, energy_kwh, cost, status=active|completed|failed
tariffs: operator_id>operators, name, price_per_kwh, price_per_minute, session_fee, valid_from

== airline_loyalty
members: member_number, first_name, last_name, email, tier=blue|silver|gold|platinum, points_balance, enrolled_at
partners: name, partner_type=hotel|car_rental|credit_card|retail, earn_rate, is_active
point_transactions: member_id>members, partner_id>partners, points, transaction_type=earn|redeem|expire|adjust, description, occurred_at
rewards: name, points_cost, category=flight|upgrade|lounge|merchandise, stock_qty, is_available
redemptions: member_id>members, reward_id>rewards, points_spent, redeemed_at, status=pending|fulfilled|cancelled

== coworking
locations: name, city, address, total_desks, opened_on
membership_plans: name, monthly_price, desk_type=hot_desk|dedicated|private_office, meeting_hours_included
members: location_id>locations, membership_plan_id>membership_plans, full_name, email, company_name, started_on, ended_on
meeting_rooms: location_id>locations, name, capacity, has_video, hourly_rate
room_bookings: meeting_room_id>meeting_rooms, member_id>members, starts_at, ends_at, title, cancelled
visitor_logs: location_id>locations, member_id>members, visitor_name, checked_in_at, checked_out_at

== photography
photographers: full_name, email, website, city, hourly_rate, rating:rating5
clients: full_name, email, phone, created_at
shoots: photographer_id>photographers, client_id>clients, shoot_type=wedding|portrait|event|product|real_estate, scheduled_at, location, duration, price, status=inquiry|booked|shot|delivered|cancelled
galleries: shoot_id>shoots, title, access_code, expires_at, photo_count, is_public
gallery_photos: gallery_id>galleries, file_name, width_px, height_px, file_size, taken_at, is_favorite
photo_orders: gallery_id>galleries, client_id>clients, print_size, quantity, total_price, ordered_at

== childcare
centers: name, address, city, license_number, capacity, opens_at_hour
caregivers: center_id>centers, full_name, email, phone, certified_first_aid, hired_on
children: center_id>centers, first_name, last_name, birth_date, allergies, guardian_name, guardian_phone, enrolled_on
daily_reports: child_id>children, caregiver_id>caregivers, report_date, meals_eaten, nap_minutes, mood=happy|calm|fussy|tired|sick, notes
childcare_invoices: child_id>children, period_start, period_end, amount, paid_on, status=issued|paid|overdue
incident_reports: child_id>children, caregiver_id>caregivers, occurred_at, description, parent_notified

== language_learning
learners: username, email, native_language, target_language, streak_days, xp_total, joined_at, is_premium
courses: language, title, level=a1|a2|b1|b2|c1|c2, lesson_count, is_published
lessons: course_id>courses, title, position, estimated_duration, content
lesson_progress: learner_id>learners, lesson_id>lessons, completed_at, score, attempts | pk learner_id, lesson_id
vocabulary_words: course_id>courses, word, translation, part_of_speech=noun|verb|adjective|adverb|phrase, difficulty
flashcard_reviews: learner_id>learners, vocabulary_word_id>vocabulary_words, reviewed_at, was_correct, next_review_at

== podcasts
podcasts: title, author, description, category=news|comedy|education|business|true_crime|technology, language, rss_url, is_explicit, created_at
podcast_episodes: podcast_id>podcasts, title, description, audio_url, duration, episode_number, published_at
podcast_listeners: email, display_name, country, created_at
podcast_subscriptions: listener_id>podcast_listeners, podcast_id>podcasts, subscribed_at, notifications_enabled | pk listener_id, podcast_id
episode_downloads: episode_id>podcast_episodes, listener_id>podcast_listeners, downloaded_at, app_name, completed

== ticket_resale
sports_venues: name, city, capacity, surface
fixtures: venue_id>sports_venues, home_team, away_team, kickoff_at, competition
resale_listings: fixture_id>fixtures, seller_email, section, seat_row, seat_number, asking_price, listed_at, status=listed|sold|withdrawn
resale_purchases: resale_listing_id>resale_listings, buyer_email, price_paid, fee, purchased_at
price_alerts: fixture_id>fixtures, email, max_price, created_at, triggered_at

== wildlife
reserves: name, country, area_km2, established_year, ranger_count
species: common_name, scientific_name, conservation_status=LC|NT|VU|EN|CR, diet=herbivore|carnivore|omnivore
sightings: reserve_id>reserves, species_id>species, observer_name, observed_at, latitude, longitude, group_size, notes
tagged_animals: species_id>species, reserve_id>reserves, tag_code, sex, estimated_age, tagged_on, is_alive
tracking_points: tagged_animal_id>tagged_animals, recorded_at, latitude, longitude, battery_pct
camera_traps: reserve_id>reserves, trap_code, latitude, longitude, installed_on, is_active

== laboratory
labs: name, building, safety_level=bsl1|bsl2|bsl3, manager_email
samples: lab_id>labs, sample_code, sample_type=blood|tissue|soil|water|dna, collected_at, storage_location, volume_ml, is_consumed
instruments: lab_id>labs, name, model, serial_number, calibrated_on, next_calibration_due
test_runs: sample_id>samples, instrument_id>instruments, protocol, started_at, finished_at, status=queued|running|passed|failed, result_summary, raw_data
reagents: lab_id>labs, name, lot_number, quantity_ml, expires_on, hazard_class

== church_community
congregations: name, city, address, founded_year, pastor_name
parishioners: congregation_id>congregations, first_name, last_name, email, phone, joined_on, is_member
services_held: congregation_id>congregations, service_date, service_type=sunday|holiday|wedding|funeral|baptism, attendance, offering_total
small_groups: congregation_id>congregations, name, meeting_day, leader_name, is_open
group_memberships: small_group_id>small_groups, parishioner_id>parishioners, joined_on | pk small_group_id, parishioner_id
pledges: parishioner_id>parishioners, amount, frequency=weekly|monthly|annual, pledged_on

== home_services
service_providers: business_name, owner_name, email, phone, trade=plumber|electrician|cleaner|gardener|painter, hourly_rate, rating:rating5, is_verified
homeowners: full_name, email, phone, address, city, created_at
service_requests: homeowner_id>homeowners, trade, description, preferred_date, budget, status=open|quoted|booked|done|cancelled, created_at
quotes: service_request_id>service_requests, provider_id>service_providers, amount, message, valid_until, accepted
jobs: service_request_id>service_requests, provider_id>service_providers, scheduled_for, completed_at, final_amount, homeowner_rating
"""

# generic application tables mixed into long schemas (8-12 tables)
COMMON_TEXT = """
== platform
users: email, username, full_name, is_active, last_login_at, created_at
audit_logs: user_id>users, action, entity_type, entity_id, changes, ip_address, created_at
notifications: user_id>users, channel=email|sms|push|in_app, title, body, is_read, sent_at
attachments: uploaded_by>users, file_name, content_type, file_size, storage_key, checksum, created_at
app_settings: setting_key, setting_value, description, updated_at
webhooks: url, event_types, secret, is_active, last_delivery_at, failure_count
user_preferences: user_id>users, theme=light|dark|system, language, timezone, preferences | pk user_id
scheduled_jobs: job_name, cron_expression, last_run_at, next_run_at, is_enabled, retry_interval
"""

# literal pools
FIRST_NAMES = (
    "James Mary John Patricia Robert Jennifer Michael Linda David Elizabeth William Barbara Richard Susan "
    "Joseph Jessica Thomas Sarah Carlos Maria Wei Aiko Priya Omar Fatima Lukas Sofia Mateo Chloe Noah "
    "Emma Liam Olivia Hiroshi Ananya Kwame Ingrid Pierre Elena Diego Yuki Amara Jonas Leila"
).split()
LAST_NAMES = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Wilson "
    "Anderson Taylor Thomas Moore Jackson Martin Lee Chen Wang Kim Patel Nguyen Mueller Rossi Dubois "
    "Silva Kowalski Tanaka Okafor Hansen Novak Ivanova Cohen Haddad Schmidt Fernandes"
).split()
CITIES = (
    "New York|London|Paris|Berlin|Tokyo|Toronto|Sydney|Madrid|Chicago|Austin|Seattle|Boston|Denver|Lisbon|"
    "Amsterdam|Dublin|Singapore|Mumbai|Nairobi|Lagos|Sao Paulo|Mexico City|Seoul|Oslo|Warsaw|Vienna|Zurich|"
    "Cape Town|Melbourne|Vancouver"
).split("|")
COUNTRIES = (
    "USA|UK|France|Germany|Japan|Canada|Australia|Spain|Brazil|India|Mexico|Italy|Netherlands|Sweden|"
    "Norway|Kenya|Nigeria|South Korea|Singapore|Ireland|Portugal|Poland"
).split("|")
COUNTRY_CODES = "US GB FR DE JP CA AU ES BR IN MX IT NL SE NO KE NG KR SG IE PT PL".split()
STREETS = "Main St|Oak Ave|Maple Dr|Cedar Ln|Elm St|Park Rd|Lake View Blvd|Hill St|River Rd|Sunset Ave|Market St|2nd Ave".split(
    "|"
)
EMAIL_DOMAINS = "example.com example.org mail.com test.io acme.co company.net".split()
ADJECTIVES = (
    "Classic Premium Deluxe Basic Smart Ultra Compact Golden Silver Green Blue Red Urban Coastal Northern "
    "Summer Winter Express Advanced Essential Modern Vintage Annual Quarterly Weekly Grand Little"
).split()
PHRASES = (
    "needs follow-up|works as expected|customer requested a change|pending review|checked and approved|"
    "late delivery|great service|minor issue reported|updated after call|see attached notes|"
    "first time order|priority handling|scheduled for next week|resolved by support|duplicate entry|"
    "requires manager approval|damaged on arrival|all good|temporary fix applied|waiting for parts"
).split("|")
WORDS = (
    "alpha beta gamma delta north south east west standard custom primary secondary internal external "
    "draft final manual auto local global mobile desktop retail wholesale"
).split()
JSON_KEYS = "color size source version region theme plan channel mode lang".split()
JSON_VALUES = "red blue large small web mobile v2 eu dark pro email fast en".split()
COLORS = "red blue green black white yellow orange purple gray navy".split()
CURRENCIES = "USD EUR GBP JPY CAD AUD CHF".split()
LANGUAGES = "en fr de es it pt ja zh nl sv".split()
TIMEZONES = "UTC|America/New_York|Europe/London|Europe/Berlin|Asia/Tokyo|Australia/Sydney|America/Los_Angeles".split(
    "|"
)
INTERVALS = (
    "1 day|2 days|7 days|30 days|1 hour|2 hours|30 minutes|45 minutes|90 minutes|1 week|"
    "3 months|1 year|00:30:00|01:15:00"
).split("|")

# values for string enums named only by a common column name
ENUMS = {
    "status": "active|inactive|pending|archived|completed|cancelled",
    "state": "CA|NY|TX|WA|FL|IL|MA|OR",
    "priority": "low|medium|high|urgent",
    "role": "admin|member|viewer|editor|owner",
    "type": "standard|premium|basic",
    "category": "general|electronics|books|home|sports|food|other",
    "level": "beginner|intermediate|advanced|expert",
    "tier": "free|pro|enterprise",
    "gender": "female|male|nonbinary|unspecified",
    "sex": "F|M",
    "method": "card|cash|bank_transfer|paypal",
    "payment_method": "card|cash|bank_transfer|paypal|apple_pay",
    "channel": "email|sms|phone|web|chat",
    "team": "red|blue|green|yellow",
    "unit": "kg|g|ml|l|pcs|mg|mmol/L|cm",
    "source": "web|mobile|api|import|partner",
    "frequency": "daily|weekly|monthly|yearly",
    "severity": "low|medium|high|critical",
    "region": "us-east|us-west|eu-west|eu-central|ap-south|ap-northeast",
    "platform": "ios|android|web|desktop",
    "device_type": "mobile|desktop|tablet|tv",
    "browser": "chrome|firefox|safari|edge",
    "os": "windows|macos|linux|ios|android",
    "environment": "dev|staging|production",
    "action": "create|update|delete|login|logout|export",
    "entity_type": "order|user|invoice|product|account",
    "hazard_class": "flammable|corrosive|toxic|oxidizer|none",
    "license_class": "A|B|C|D|CDL",
    "content_type": "application/pdf|image/png|image/jpeg|text/csv|application/json",
    "mime_type": "image/png|image/jpeg|video/mp4|application/pdf",
    "position": "forward|midfielder|defender|goalkeeper|guard|center",
}

# value pools for free-text columns whose values come from a known set (no CHECK/DEFAULT implied)
POOLS = {
    "department": "engineering|sales|marketing|finance|operations|support|legal|research",
    "major": "computer_science|biology|economics|history|mathematics|physics|nursing",
    "building": "Main Hall|Science Center|North Wing|Library|Engineering Building",
    "branch": "main|develop|feature/login|release/1.2|hotfix/payment",
    "default_branch": "main|master|develop|trunk",
    "head_ref": "feature/search|fix/typo|feature/api-v2|chore/deps",
    "base_ref": "main|develop|release",
    "make": "Toyota|Ford|Honda|Tesla|BMW|Volkswagen|Hyundai|Kia",
    "manufacturer": "Siemens|Bosch|Philips|Samsung|Boeing|Airbus|Pfizer|Honeywell",
    "brand": "Acme|Globex|Initech|Umbrella|Northwind|Contoso",
    "equipment": "barbell|dumbbell|machine|bodyweight|kettlebell|cable",
    "medium": "oil on canvas|bronze|watercolor|marble|charcoal|photograph",
    "movement": "impressionism|cubism|baroque|modernism|surrealism|renaissance",
    "strength": "10 mg|20 mg|250 mg|500 mg|5 ml",
    "runner": "ubuntu-latest|self-hosted|macos-14|windows-2022",
    "emoji": "thumbs_up|heart|tada|laugh|eyes|rocket",
    "wing": "east|west|north|south",
    "breed": "labrador|beagle|siamese|persian|poodle|mixed|angus|merino",
    "cuisine": "italian|mexican|japanese|indian|thai|french|vegan",
    "industry": "software|retail|finance|healthcare|manufacturing|education|media",
    "sector": "technology|energy|healthcare|financials|utilities|industrials",
    "network": "ethereum|bitcoin|solana|polygon|tron",
    "trade": "plumbing|electrical|cleaning|gardening|painting|roofing",
    "specialty": "cardiology|pediatrics|general|surgery|dermatology|neurology",
    "party": "Green|Labour|Liberal|Conservative|Independent|Democratic",
    "home_team": "Lions|Tigers|Eagles|Sharks|Wolves|Bears|Falcons",
    "away_team": "Lions|Tigers|Eagles|Sharks|Wolves|Bears|Falcons",
    "competition": "league|cup|friendly|playoffs|championship",
    "surface": "grass|artificial|clay|hard|indoor",
    "payment_terms": "net_30|net_60|net_15|due_on_receipt",
    "payout_method": "bank_transfer|paypal|check|wire",
    "job_title": "Software Engineer|Sales Manager|Product Designer|Accountant|Data Analyst|HR Specialist",
    "event_name": "page_view|signup|add_to_cart|purchase|click|login",
    "metric_name": "cpu_usage|memory_usage|latency_ms|error_rate|requests_per_second|disk_io",
    "test_name": "CBC|Lipid Panel|HbA1c|TSH|Vitamin D|Glucose",
    "injury_type": "hamstring|ankle sprain|concussion|knee|shoulder",
    "hearing_type": "motion|trial|status|sentencing|arraignment",
    "case_type": "civil|criminal|family|contract|employment",
    "record_type": "minutes|contract|report|license|ordinance",
    "procedure_type": "cleaning|filling|extraction|root_canal|crown|checkup",
    "placement": "feed|sidebar|search|stories|banner_top",
    "owner_line": "Maersk|MSC|CMA CGM|Hapag-Lloyd|COSCO|Evergreen",
    "meeting_day": "Monday|Tuesday|Wednesday|Thursday|Friday|Sunday",
    "opening_hours": "08:00-20:00|24h|09:00-17:00|07:00-22:00",
    "dosage": "10 mg|250 mg|1 tablet|5 ml|2 puffs",
    "condition": "diabetes|asthma|hypertension|migraine|arthritis|obesity",
    "user_agent": "Mozilla/5.0 (Windows NT 10.0)|Mozilla/5.0 (Macintosh)|Mozilla/5.0 (iPhone)|curl/8.4.0",
    "reference_range": "3.5-5.0|70-99|< 200|4.0-11.0|0.4-4.0",
    "allergies": "none|peanuts|penicillin|pollen|latex|shellfish",
    "common_name": "African Elephant|Lion|Giraffe|Cheetah|Zebra|Black Rhino|Leopard",
    "scientific_name": "Loxodonta africana|Panthera leo|Giraffa camelopardalis|Acinonyx jubatus|Diceros bicornis",
    "medication_name": "Amoxicillin|Ibuprofen|Metformin|Lisinopril|Atorvastatin|Omeprazole|Prednisone",
    "generic_name": "amoxicillin|ibuprofen|metformin|lisinopril|atorvastatin|omeprazole",
    "vaccine_name": "Rabies|Distemper|Parvovirus|Leptospirosis|Bordetella",
    "app_name": "Spotify|Overcast|Pocket Casts|Apple Podcasts|Castbox",
    "ticker": "AAPL|MSFT|GOOGL|AMZN|TSLA|NVDA|JPM|VOO",
    "symbol": "BTC|ETH|SOL|USDT|ADA|BTC-USD|ETH-USDT",
    "iata_code": "JFK|LHR|CDG|NRT|SFO|AMS|FRA|SIN|DXB",
    "version": "1.0.0|1.2.3|2.0.1|v3.4.0|0.9.12",
    "firmware_version": "1.0.4|2.1.0|2.3.7|3.0.0-rc1",
    "slug": "summer-sale|getting-started|new-arrivals|how-to-guide|release-notes",
    "funding_agency": "NSF|NIH|ERC|DARPA|Wellcome Trust",
    "institution": "MIT|Stanford University|ETH Zurich|University of Tokyo|Oxford University",
    "insurance_provider": "Aetna|Cigna|Blue Cross|Kaiser|UnitedHealthcare",
    "provider": "Aetna|Cigna|MetLife|Allianz|AXA",
    "supplier": "Acme Supply|BuildCo|Metro Materials|Global Parts",
    "journal": "Nature|Science|Cell|PLOS ONE|The Lancet",
    "stadium": "Riverside Stadium|Central Arena|Memorial Field|Olympic Park",
    "vehicle_model": "Model 3|Leaf|Ioniq 5|ID.4|Bolt",
    "model": "X200|Pro 14|A320|737 MAX|Series 5|EcoLine",
    "utm_source": "google|newsletter|facebook|twitter|partner",
    "utm_campaign": "spring_sale|launch|retargeting|black_friday",
    "variation": "control|variant_a|variant_b|on|off",
    "word": "apple|house|run|beautiful|quickly|bridge",
    "translation": "manzana|casa|correr|hermoso|rapidamente|puente",
    "label": "bug|feature|urgent|docs|backend",
    "storage_location": "freezer A1|shelf B2|fridge 3|rack C4",
    "protocol": "PCR-v2|ELISA|WGS|qPCR-std",
    "domain": "acme.com|globex.io|initech.net|example.org",
    "hostname": "web-01|api-02|db-primary|worker-07|cache-03",
}

# column names that decide a column's kind (datagen/synth.py: infer_kind)
BOOL_NAMES = set(
    """active enabled verified paid approved passed completed converted attended billable explicit vip
success revoked acknowledged muted cancelled checked_in auto_renew from_seller was_correct in_service irrigation
accepted verified climate_controlled insurance_covered parent_notified requires_prescription certified_first_aid
tax_receipt_sent cancel_at_period_end""".split()
)
DATE_NAMES = set(
    """dob birthday check_in check_out expected_return reporting_due ex_date next_calibration_due
evidence_due_by""".split()
)
PERSON_WORDS = set(
    """customer author owner technician inspector interviewer editor prescriber curator driver principal
guardian leader pastor manager coach contact observer mechanic full client created granted deployed triggered
visitor funder assigned""".split()
)
PERSON_NAMES = set(
    """director developer technician author assigned_to principal_investigator emergency_contact
""".split()
)
JSON_NAMES = set(
    """metadata attributes settings payload properties details config trigger_config parameters rules
conditions stats raw_payload raw_data custom_fields context changes diff preferences targeting permissions
state attachments""".split()
)
TAG_NAMES = set(
    """tags labels skills amenities topics scopes event_types redirect_uris features""".split()
)
INT_NAMES = set(
    """quantity capacity seats floor floors age rank kills deaths points assists rebounds fouls refills
renewals attempts bedrooms bathrooms guests adults children servings views calories level score credits decimals
confirmations population mileage bottles hours_used lesson_count total_tracks screen_count photo_count
follower_count like_count view_count play_count usage_count vote_count word_count page_count citation_count
episode_count subscriber_count defect_count failure_count forks_count stars_count affected_customers
registered_voters ranger_count total_desks total_spaces seat_count seat_capacity max_students max_seats max_uses
max_occupancy max_open_tickets max_points usage_limit reorder_level received_qty filled_quantity
quantity_available quantity_on_hand quantity_reserved quantity_planned quantity_produced quantity_per_unit
stock_qty copies_available track_number episode_number season_number step_number visit_number jersey_number
table_number screen_number register_number day_number pr_number issue_number paddle_number tooth_number
bus_number line exit_code additions deletions shares kyc_level h_index story_points
streak_days xp_total experience_points loyalty_points points_balance points_cost points_spent points_awarded
high_score home_score away_score attendance sms_count voice_minutes data_gb cpu_cores memory_gb bytes_used
size_bytes file_size size_ft width_px height_px square_feet sort_order display_order ballot_position
grade_level term_months growing_days lead_time_days years_experience group_size estimated_age party_size
children_count heading wind_direction meals_eaten nap_minutes revision math_score reading_score science_score
overall_score safety_score popularity_score battery_level seed_quantity_kg threshold position day
meeting_hours_included available_hours calories_burned avg_heart_rate systolic_bp diastolic_bp
annual_mileage bottles_produced end_mileage end_odometer start_mileage start_odometer minutes_played
monthly_listeners refills_remaining seconds_on_page seconds_played target_enrollment time_on_page max_throughput
days_impact difficulty""".split()
)
INT_SUFFIXES = (
    "_count",
    "_qty",
    "_minutes",
    "_seconds",
    "_days",
    "_hour",
    "_units",
    "_points",
    "_score",
)
FLOAT_NAMES = set(
    """gpa weight height temperature humidity watts liters hours hours_worked overtime_hours
sugar_brix efficiency result_value reading_value metric_value numeric_value event_value reading_kwh usage_kwh
output_mwh energy_kwh kwh_today gross_tonnage volume min_value max_value optimal_temperature max_power_kw
surge_multiplier""".split()
)
FLOAT_SUFFIXES = (
    "_kg",
    "_km",
    "_cm",
    "_m",
    "_mw",
    "_mwh",
    "_kwh",
    "_hpa",
    "_mm",
    "_c",
    "_gb",
    "_kmh",
    "_km2",
    "_hectares",
    "_liters",
    "_ml",
    "_brix",
    "_100g",
)
MONEY_NAMES = set(
    """price amount total cost balance fee salary budget revenue subtotal tip fare premium principal
deductible quota copay charge debit credit deductions commission amount_charged amount_claimed min_order_size
price_per_minute tax_due amount_due daily_rate nightly_rate hourly_rate base_rate""".split()
)
MONEY_SUFFIXES = (
    "_price",
    "_amount",
    "_cost",
    "_fee",
    "_balance",
    "_total",
    "_budget",
    "_revenue",
    "_pay",
    "_salary",
    "_value",
    "_limit",
    "_paid",
    "_spent",
    "_raised",
    "_withheld",
    "_impact",
    "_due",
    "_income",
    "_rent",
    "_deposit",
    "_wage",
    "_premium",
    "_share",
    "_min",
    "_max",
    "_high",
    "_low",
    "_discount",
)
CODE_NAMES = set(
    """code sku isbn iban vin license_plate barcode reference slug sha commit_sha doi orcid ticker
symbol national_id tax_id qr_code version firmware_version apn cron_expression expression isrc registration
microchip_id rfid_tag head_ref base_ref hostname instance_type model make brand variety strength medium
movement protocol runner branch default_branch cost_center acronym tag word emoji label translation
card_code access_code key_prefix bank_account gate berth seat_label seat_row seat_number unit_number space_number
room_number lot_number batch_number tag_number species_code review_period academic_year term section
print_size court courtroom room district booking_reference un_locode last4 card_number_last4""".split()
)
TEXT_NAMES = set(
    """description notes note body bio content comment comments summary message reason feedback
instructions synopsis biography diagnosis treatment findings hypothesis outcome scope purpose excerpt
cover_letter release_notes tasting_notes special_requests special_instructions review changes_summary
result_summary issue violation allergies caption alt_text topic question_text option_text text_value
instruction html_body body_text memo dosage cause condition user_agent opening_hours meeting_day
result objective target_audience mode""".split()
)
