"""MA-Net Tab. 5: vision transformers on ImageNet-1k (data/imagenet), 384 px:
ViT-B/16 and Swin-B, plain vs MA-Net (pruned at delta = 1e-3: FFN hidden
neurons and attention heads)."""
suite = dict(name='manet-tab5_in1k', input_size=384, seeds=[0],
             title='MA-Net Tab. 5: vision transformers on ImageNet-1k')
rows = [('vit-base-p16_64xb64_in1k-384px', 'vit', 'ViT-B/16',
         (77.90, 86.20), (79.47, 69.54)),
        ('swin-base_16xb64_in1k-384px', 'swin', 'Swin-B',
         (84.50, 84.70), (85.66, 75.62))]
runs = []
for name, folder, label, plain, ours in rows:
    runs += [
        dict(name=f'plain_{folder}', task='cls', method='plain', label=label,
             config=f'configs/{folder}/{name}.py',
             paper=dict(top1=plain[0], params_M=plain[1])),
        dict(name=f'manet_{folder}', task='cls', method='manet', label=label,
             config=f'configs/manet/manet_{name}.py',
             prune=dict(delta=dict(threshold=1e-3, paper=dict(
                 top1=ours[0], params_M=ours[1])))),
    ]
