©

serveö
1
xPlaceholderx:0"/device:CPU:0*
dtype0
-
wConstx:0"/device:CPU:0*
valueB
 
mmMatMulx:0"/device:CPU:0

bConstx:0"/device:CPU:0

addAddx:0"/device:CPU:0
)
save/SaveV2SaveV2x:0"/device:CPU:0"µ	
saver_filename:0*
serving_default